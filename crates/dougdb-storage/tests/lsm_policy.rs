//! Validation of policy tasks through a live database: a malicious policy asks for every
//! kind of bad task; each is rejected, counted as a fallback, and no data is lost.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dougdb_storage::fs::FaultFs;
use dougdb_storage::lsm::{CompactionPolicy, CompactionTask, Db, LevelsSummary, Options, TableId};
use lsm_common::{Rng, assert_matches, dir, key, seed, small_options, value};

/// Cycles through bad tasks built from the tree it is shown.
#[derive(Debug, Default)]
struct Malicious {
    calls: AtomicUsize,
}

fn ids(s: &LevelsSummary, level: usize) -> Vec<TableId> {
    s.levels
        .get(level)
        .map_or(Vec::new(), |l| l.tables.iter().map(|t| t.id).collect())
}

impl CompactionPolicy for Malicious {
    fn name(&self) -> &str {
        "malicious"
    }

    fn pick(&self, s: &LevelsSummary) -> Option<CompactionTask> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let l0 = ids(s, 0);
        let l1 = ids(s, 1);
        let deepest = (1..s.levels.len())
            .rev()
            .find(|l| !ids(s, *l).is_empty())
            .unwrap_or(1);
        let task = |inputs: Vec<TableId>, output_level: u32| {
            Some(CompactionTask {
                inputs,
                output_level,
            })
        };
        match n % 8 {
            0 => task(vec![TableId(987_654)], 1), // bogus id
            1 => task(Vec::new(), 1),             // nothing
            2 => task(ids(s, deepest), 0),        // move data up ("drop" below)
            3 => task(l0.iter().chain(&l0).copied().collect(), 1), // duplicates
            4 => task(l0.clone(), 3),             // skip levels
            5 => task(l1.iter().step_by(2).copied().collect(), 2), // non-contiguous / incomplete
            6 => task(l0.into_iter().take(1).collect(), 9), // past the last level
            _ => task(l1.first().into_iter().copied().collect(), 0), // L1 table up into L0
        }
    }
}

fn build(fs: &FaultFs, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, rng: &mut Rng, db: &Db) {
    for step in 0..1500 {
        let i = rng.below(300);
        if rng.below(4) == 0 {
            db.delete(&key(i)).unwrap();
            model.remove(&key(i));
        } else {
            db.put(&key(i), &value(i, step)).unwrap();
            model.insert(key(i), value(i, step));
        }
        if step % 400 == 0 {
            db.compact_all().unwrap();
        }
    }
    db.flush().unwrap();
    let _ = fs;
}

#[test]
fn malicious_policy_tasks_are_rejected_and_data_survives() {
    let fs = FaultFs::new();
    let mut rng = Rng(seed(77));
    let db = Db::open(
        dir(),
        Options {
            background_compaction: false,
            ..small_options(&fs)
        },
    )
    .unwrap();
    let mut model = BTreeMap::new();
    build(&fs, &mut model, &mut rng, &db);
    let before = db.stats();
    assert!(
        before.levels[0].tables > 0 && before.levels[1..].iter().any(|l| l.tables > 1),
        "{before:?}"
    );
    let policy = Malicious::default();
    for _ in 0..16 {
        db.run_policy(&policy).unwrap();
        assert_matches(&db, &model, 300);
    }
    let after = db.stats();
    assert!(
        after.policy_fallbacks >= 16,
        "every bad task falls back: {after:?}"
    );
    db.close().unwrap();
    let db = Db::open(dir(), small_options(&fs)).unwrap();
    assert_matches(&db, &model, 300);
}

#[test]
fn malicious_policy_as_the_configured_policy_loses_nothing() {
    let fs = FaultFs::new();
    let mut rng = Rng(seed(78));
    let opts = || Options {
        compaction_policy: Arc::new(Malicious::default()) as Arc<dyn CompactionPolicy>,
        ..small_options(&fs)
    };
    let db = Db::open(dir(), opts()).unwrap();
    let mut model = BTreeMap::new();
    build(&fs, &mut model, &mut rng, &db);
    db.wait_for_compactions().unwrap();
    assert_matches(&db, &model, 300);
    assert!(db.stats().policy_fallbacks > 0);
}

/// A policy that panics: treated like an invalid task.
#[derive(Debug)]
struct Panicky;

impl CompactionPolicy for Panicky {
    fn name(&self) -> &str {
        "panicky"
    }
    fn pick(&self, _: &LevelsSummary) -> Option<CompactionTask> {
        panic!("policy bug")
    }
}

#[test]
fn panicking_policy_falls_back_to_leveled() {
    let fs = FaultFs::new();
    let db = Db::open(
        dir(),
        Options {
            background_compaction: false,
            ..small_options(&fs)
        },
    )
    .unwrap();
    for i in 0..600 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.run_policy(&Panicky).unwrap();
    assert!(db.stats().policy_fallbacks >= 1);
    assert_eq!(db.get(&key(599)).unwrap(), Some(value(599, 0)));
}
