//! Compaction correctness against a BTreeMap model under seeded random puts, deletes,
//! batches, flushes, compactions and reopens, for both built-in policies; and
//! tombstones never resurrect after compactions.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use dougdb_storage::fs::FaultFs;
use dougdb_storage::lsm::{CompactionPolicy, Db, Options, SizeTieredPolicy, WriteBatch};
use lsm_common::{Rng, assert_matches, dir, key, seed, small_options, value};

const KEYS: u64 = 400;

fn run_model(seed: u64, opts: impl Fn(&FaultFs) -> Options) {
    let mut rng = Rng(seed);
    let fs = FaultFs::new();
    let mut db = Db::open(dir(), opts(&fs)).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for step in 0..4000u64 {
        let i = rng.below(KEYS);
        match rng.below(100) {
            0..=59 => {
                db.put(&key(i), &value(i, step)).unwrap();
                model.insert(key(i), value(i, step));
            }
            60..=84 => {
                db.delete(&key(i)).unwrap();
                model.remove(&key(i));
            }
            85..=94 => {
                let mut b = WriteBatch::new();
                for _ in 0..rng.below(8) {
                    let j = rng.below(KEYS);
                    if rng.below(3) == 0 {
                        b.delete(&key(j));
                        model.remove(&key(j));
                    } else {
                        b.put(&key(j), &value(j, step));
                        model.insert(key(j), value(j, step));
                    }
                }
                db.write_batch(b).unwrap();
            }
            95 => db.flush().unwrap(),
            96 => db.compact_all().unwrap(),
            97 => db.wait_for_compactions().unwrap(),
            98 => {
                let lo = key(rng.below(KEYS));
                let hi = key(rng.below(KEYS));
                let got: Vec<_> = db
                    .scan(lo.clone()..hi.clone())
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                let want: Vec<_> = if lo <= hi {
                    model
                        .range(lo..hi)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                } else {
                    Vec::new()
                };
                assert_eq!(got, want, "scan at step {step}");
            }
            _ => {
                db.close().unwrap();
                db = Db::open(dir(), opts(&fs)).unwrap();
            }
        }
        if step % 500 == 0 {
            assert_matches(&db, &model, KEYS);
        }
    }
    assert_matches(&db, &model, KEYS);
    db.compact_all().unwrap();
    assert_matches(&db, &model, KEYS);
    let stats = db.stats();
    assert!(stats.flushes > 0 && stats.compactions > 0, "{stats:?}");
    assert_eq!(stats.policy_fallbacks, 0);
}

#[test]
fn leveled_compaction_matches_model_under_random_ops() {
    run_model(seed(0x1e7e1ed), small_options);
}

#[test]
fn size_tiered_compaction_matches_model_under_random_ops() {
    run_model(seed(0x5123), |fs| Options {
        compaction_policy: Arc::new(SizeTieredPolicy::default()) as Arc<dyn CompactionPolicy>,
        ..small_options(fs)
    });
}

#[test]
fn tombstones_are_not_resurrected_by_compactions() {
    let fs = FaultFs::new();
    let db = Db::open(dir(), small_options(&fs)).unwrap();
    for i in 0..500 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.compact_all().unwrap();
    let deep = db.stats();
    assert!(deep.levels[0].tables == 0 && deep.tables > 0);
    for i in (0..500).step_by(2) {
        db.delete(&key(i)).unwrap();
    }
    db.flush().unwrap();
    // Compact only level 0 into level 1 while older values sit deeper.
    db.wait_for_compactions().unwrap();
    for round in 0..3 {
        for i in (0..500).step_by(2) {
            assert_eq!(db.get(&key(i)).unwrap(), None, "round {round} key {i}");
        }
        db.compact_all().unwrap();
    }
    assert_eq!(db.scan(..).unwrap().count(), 250);
    let stats = db.stats();
    let entries_bound = stats.table_bytes;
    assert!(entries_bound > 0);
    db.close().unwrap();
    let db = Db::open(dir(), small_options(&fs)).unwrap();
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(1)).unwrap(), Some(value(1, 0)));
}
