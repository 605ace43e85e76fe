//! The seed sweep `cargo test` runs: 2,000 seeds (every profile, 3/5/7-node groups) on two
//! threads. `DOUGDB_SEEDS=N` / `DOUGDB_SEED_START=S` change the range; a failure prints
//! its seed and the replay command.

use dougdb_sim::sweep::sweep;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
fn two_thousand_seeds_hold_every_invariant() {
    let count = env_u64("DOUGDB_SEEDS", 2_000);
    let start = env_u64("DOUGDB_SEED_START", 0);
    let sum = sweep(start, count, 2, 0, &|_, _| {});
    println!(
        "{} seeds passed in {:.1}s ({} steps, {} client ops acknowledged, worst liveness after heal {} ticks)",
        sum.passed, sum.secs, sum.steps, sum.ops_ok, sum.max_liveness_ticks
    );
    if let Some(f) = sum.failures.first() {
        panic!("{f}");
    }
    assert_eq!(sum.passed, count);
}
