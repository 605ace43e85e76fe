//! Properties of the built-in hash router through wasm: random keys spread evenly over the
//! shards (chi-square), and the answer is the same on every call, every instance, every
//! host.
// Tests and their helpers may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{builtin, host, seed};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn random_keys(rng: &mut StdRng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.random_range(1..48);
            (0..len).map(|_| rng.random()).collect()
        })
        .collect()
}

#[test]
fn hash_router_spreads_random_keys_evenly_chi_square() {
    let mut rng = StdRng::seed_from_u64(seed());
    let router = host()
        .load_router("hash", &builtin("hash-router"), &[])
        .unwrap();
    let keys = random_keys(&mut rng, 50_000);
    for shard_count in [2u32, 3, 7, 16, 61] {
        let mut counts = vec![0u64; shard_count as usize];
        for batch in keys.chunks(256) {
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            for shard in router.route(&refs, shard_count).unwrap() {
                counts[shard as usize] += 1;
            }
        }
        let expected = keys.len() as f64 / f64::from(shard_count);
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        // Mean of chi-square is df, variance 2 df: six standard deviations above the mean
        // fails a uniform hash about once in a billion runs.
        let df = f64::from(shard_count - 1);
        let bound = df + 6.0 * (2.0 * df).sqrt();
        println!("shards {shard_count}: chi2 {chi2:.2} (bound {bound:.2}) counts {counts:?}");
        assert!(chi2 < bound, "shards {shard_count}: chi2 {chi2} >= {bound}");
    }
}

#[test]
fn hash_router_answers_the_same_on_every_call_instance_and_host() {
    let mut rng = StdRng::seed_from_u64(seed());
    let wasm = builtin("hash-router");
    let keys = random_keys(&mut rng, 256);
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let first = host().load_router("a", &wasm, &[]).unwrap();
    let want = first.route(&refs, 10).unwrap();
    for _ in 0..5 {
        assert_eq!(
            first.route(&refs, 10).unwrap(),
            want,
            "same instance, later call"
        );
    }
    let other_host = host().load_router("b", &wasm, &[]).unwrap();
    assert_eq!(
        other_host.route(&refs, 10).unwrap(),
        want,
        "another host and engine"
    );
    // Many threads at once force extra instances in the pool.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(first.route(&refs, 10).unwrap(), want));
        }
    });
    let one_by_one: Vec<u32> = refs
        .iter()
        .map(|k| first.route_one(k, 10).unwrap())
        .collect();
    assert_eq!(one_by_one, want, "batching does not change answers");
}
