//! SSTable bloom filter: no false negatives, a false-positive rate near 1% at 10 bits per
//! key, built over user keys (all versions of a key share one entry), consulted before
//! any block is read.
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use dougdb_storage::lsm::key::{self, SeqNo, ValueKind};
use dougdb_storage::lsm::sst::bloom::{BloomBuilder, BloomFilter};
use dougdb_storage::lsm::sst::{BlockCache, TableOptions};
use rand::Rng;
use sst_support::*;

fn false_positive_rate(bits_per_key: u32, keys: usize, probes: usize, rng: &mut impl Rng) -> f64 {
    let mut b = BloomBuilder::new(bits_per_key);
    let mut present = std::collections::HashSet::new();
    while present.len() < keys {
        let k: [u8; 16] = rng.random();
        if present.insert(k) {
            b.add_key(&k);
        }
    }
    let f = BloomFilter::decode(b.finish()).unwrap();
    assert!(present.iter().all(|k| f.may_contain(k)), "false negative");
    let mut fp = 0;
    let mut tried = 0;
    while tried < probes {
        let k: [u8; 16] = rng.random();
        if present.contains(&k) {
            continue;
        }
        tried += 1;
        fp += usize::from(f.may_contain(&k));
    }
    fp as f64 / probes as f64
}

#[test]
fn sst_false_positive_rate_is_about_one_percent_at_ten_bits_per_key() {
    let mut rng = rng("false_positive_rate_is_about_one_percent_at_ten_bits_per_key");
    let rate = false_positive_rate(10, 100_000, 200_000, &mut rng);
    println!("fp rate at 10 bits/key: {:.3}%", rate * 100.0);
    assert!(rate < 0.015, "fp rate {rate}");
    let rate20 = false_positive_rate(20, 20_000, 200_000, &mut rng);
    println!("fp rate at 20 bits/key: {:.4}%", rate20 * 100.0);
    assert!(rate20 < 0.002, "fp rate {rate20}");
    let rate5 = false_positive_rate(5, 20_000, 100_000, &mut rng);
    println!("fp rate at 5 bits/key: {:.3}%", rate5 * 100.0);
    assert!(rate5 < 0.12, "fp rate {rate5}");
}

#[test]
fn sst_table_filter_covers_user_keys_not_internal_keys() {
    // Several versions per user key; the filter must answer for the bare user key.
    let versions: Vec<Version> = (0..2000u64)
        .flat_map(|i| {
            let u = format!("user{i}").into_bytes();
            [
                (u.clone(), 1, ValueKind::Put, vec![1]),
                (u, 2, ValueKind::Delete, vec![]),
            ]
        })
        .collect();
    let entries = sorted_entries(&versions);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), None);
    for i in 0..2000 {
        assert!(reader.may_contain(format!("user{i}").as_bytes()));
    }
    let fp = (0..20_000)
        .filter(|i| reader.may_contain(format!("absent{i}").as_bytes()))
        .count();
    println!("table fp: {fp} of 20000");
    assert!(fp < 300, "{fp} false positives of 20000");
}

#[test]
fn sst_absent_keys_rejected_by_the_filter_read_no_block() {
    let cache = BlockCache::new(1 << 20);
    let entries = simple_entries(5000, 100);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    let mut rejected = 0;
    for i in 0..1000 {
        let probe = format!("missing{i}");
        if !reader.may_contain(probe.as_bytes()) {
            rejected += 1;
            assert_eq!(reader.get(probe.as_bytes(), SeqNo(u64::MAX)).unwrap(), None);
        }
    }
    assert!(rejected > 950);
    assert_eq!(
        cache.stats(),
        (0, 0),
        "a filtered-out get touched the block cache"
    );
}

#[test]
fn sst_disabled_filter_still_answers_correctly() {
    let entries = simple_entries(300, 5);
    let opts = TableOptions {
        bloom_bits_per_key: 0,
        ..TableOptions::default()
    };
    let (_fault, reader) = build_and_open(&entries, opts, None);
    assert!(reader.may_contain(b"anything"));
    assert_eq!(reader.get(b"anything", SeqNo(9)).unwrap(), None);
    let k = key::encode(b"key000007", SeqNo(8), ValueKind::Put);
    assert_eq!(
        reader.get(b"key000007", SeqNo(9)).unwrap().unwrap().0,
        key::decode(&k).unwrap().seq
    );
}
