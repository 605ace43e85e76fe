//! Crash tests: a seeded workload of puts, deletes and batches with flushes and
//! compactions under `SyncMode::Every`, crashed before every sync point k of a clean
//! run (and, with torn tails, a sample of them), restarted and reopened. Every write
//! acknowledged before the crash is there with its latest value, nothing deleted comes
//! back, and the write in flight at the crash is all there or all absent.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use dougdb_storage::fs::{CrashConfig, FaultFs, SharedFs};
use dougdb_storage::lsm::{Db, Options, SyncMode, WriteBatch};
use lsm_common::{Rng, dir, key, seed, small_options, value};

const KEYS: u64 = 60;
const OPS: u64 = 500;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn options(fs: &FaultFs) -> Options {
    Options {
        fs: Arc::new(fs.clone()) as SharedFs,
        sync: SyncMode::Every,
        // Only explicit flushes and compactions, so the sync points are deterministic: the
        // workload writes far less than this. (Not larger: each memtable's bloom filter
        // is sized from it, and debug builds pay for every word.)
        memtable_size_bytes: 8 << 20,
        background_compaction: false,
        ..small_options(fs)
    }
}

fn apply(model: &mut Model, ops: &Ops) {
    for (k, v) in ops {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

/// Runs the workload until it ends or the disk crashes. Returns the acknowledged model
/// and the ops of the write that failed, if any.
fn workload(fs: &FaultFs, seed: u64) -> (Model, Option<Ops>) {
    let mut model = Model::new();
    let Ok(db) = Db::open(dir(), options(fs)) else {
        return (model, None);
    };
    let mut rng = Rng(seed);
    for step in 0..OPS {
        let r = rng.below(100);
        let mut ops: Ops = Vec::new();
        let result = match r {
            0..=54 => {
                let i = rng.below(KEYS);
                ops.push((key(i), Some(value(i, step))));
                db.put(&key(i), &value(i, step))
            }
            55..=74 => {
                let i = rng.below(KEYS);
                ops.push((key(i), None));
                db.delete(&key(i))
            }
            75..=89 => {
                let mut b = WriteBatch::new();
                for _ in 0..1 + rng.below(5) {
                    let j = rng.below(KEYS);
                    if rng.below(3) == 0 {
                        b.delete(&key(j));
                        ops.push((key(j), None));
                    } else {
                        b.put(&key(j), &value(j, step));
                        ops.push((key(j), Some(value(j, step))));
                    }
                }
                db.write_batch(b)
            }
            90..=95 => db.flush(),
            96..=97 => db.wait_for_compactions(),
            _ => db.compact_all(),
        };
        match result {
            Ok(()) => apply(&mut model, &ops),
            Err(_) => return (model, (!ops.is_empty()).then_some(ops)),
        }
    }
    let _ = db.close();
    (model, None)
}

fn check(fs: &FaultFs, model: &Model, inflight: &Option<Ops>, what: &str) {
    let db = Db::open(dir(), options(fs)).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    let got: Model = db.scan(..).unwrap().map(|r| r.unwrap()).collect();
    let mut with = model.clone();
    if let Some(ops) = inflight {
        apply(&mut with, ops);
    }
    assert!(
        &got == model || got == with,
        "{what}: state after the crash is neither the acknowledged state nor it plus the \
         in-flight write\n got: {got:?}\n acked: {model:?}\n inflight: {inflight:?}"
    );
    for (k, v) in &got {
        assert_eq!(
            db.get(k).unwrap().as_ref(),
            Some(v),
            "{what}: get agrees with scan"
        );
    }
    // The reopened database keeps working.
    db.put(b"after-crash", b"ok").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
}

fn clean_sync_points(seed: u64) -> u64 {
    let fs = FaultFs::new();
    let (model, inflight) = workload(&fs, seed);
    assert!(inflight.is_none() && !model.is_empty());
    fs.sync_points()
}

#[test]
fn crash_before_every_sync_point_keeps_acknowledged_writes() {
    let seed = seed(0xC0FFEE);
    let total = clean_sync_points(seed);
    println!("clean run: {total} sync points; crashing before each");
    let mut crashed_runs = 0;
    for k in 0..total {
        let fs = FaultFs::new();
        fs.set_crash_config(CrashConfig {
            crash_before_sync: Some(k),
            torn_tail_seed: None,
        });
        let (model, inflight) = workload(&fs, seed);
        crashed_runs += u64::from(fs.is_crashed());
        fs.restart();
        check(
            &fs,
            &model,
            &inflight,
            &format!("seed {seed} crash before sync {k}"),
        );
    }
    assert!(
        total > 200,
        "the workload exercises enough sync points: {total}"
    );
    assert_eq!(crashed_runs, total, "every run crashed where asked");
}

#[test]
fn torn_tails_at_crash_points_keep_acknowledged_writes() {
    let seed = seed(0x7042);
    let total = clean_sync_points(seed);
    let mut rng = Rng(seed ^ 0xFFFF);
    let samples = 120.min(total);
    println!("clean run: {total} sync points; {samples} torn-tail crashes");
    for n in 0..samples {
        let k = rng.below(total);
        let fs = FaultFs::new();
        fs.set_crash_config(CrashConfig {
            crash_before_sync: Some(k),
            torn_tail_seed: Some(seed.wrapping_add(n)),
        });
        let (model, inflight) = workload(&fs, seed);
        fs.restart();
        check(
            &fs,
            &model,
            &inflight,
            &format!(
                "seed {seed} torn crash before sync {k} (torn seed {})",
                seed.wrapping_add(n)
            ),
        );
    }
}

#[test]
fn power_cut_without_sync_mode_every_keeps_flushed_writes() {
    let fs = FaultFs::new();
    let opts = || Options {
        sync: SyncMode::None,
        ..options(&fs)
    };
    let db = Db::open(dir(), opts()).unwrap();
    for i in 0..KEYS {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.put(&key(0), b"maybe lost").unwrap();
    drop(db);
    fs.crash();
    fs.restart();
    let db = Db::open(dir(), opts()).unwrap();
    for i in 1..KEYS {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    let v0 = db.get(&key(0)).unwrap();
    assert!(v0 == Some(value(0, 0)) || v0 == Some(b"maybe lost".to_vec()));
}
