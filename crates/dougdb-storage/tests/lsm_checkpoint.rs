//! Checkpoints and their ingest: a checkpoint's tables, ingested into another database,
//! give the same reads; the checkpoint pins its files against compaction; a damaged
//! table is refused with nothing changed; and a crash before every sync point of an
//! ingest reopens either the old state or the new one, never a mix, never an error.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use dougdb_storage::fs::{CrashConfig, FaultFs, SharedFs};
use dougdb_storage::lsm::{Db, IngestCheckpoint, IngestTable, Options, SyncMode, WriteBatch};
use lsm_common::{Rng, dir, key, seed, small_options, value};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(fs: &FaultFs, wal: bool) -> Options {
    Options {
        fs: Arc::new(fs.clone()) as SharedFs,
        wal,
        sync: SyncMode::Every,
        // Only explicit flushes and compactions: sync points are deterministic.
        memtable_size_bytes: 8 << 20,
        background_compaction: false,
        ..small_options(fs)
    }
}

fn scan(db: &Db) -> Model {
    db.scan(..).unwrap().map(|r| r.unwrap()).collect()
}

/// A source database with tables in several levels, tombstones, and unflushed writes.
fn source(seed: u64, applied: u64) -> (FaultFs, Db, Model) {
    let fs = FaultFs::new();
    let db = Db::open(dir(), options(&fs, false)).unwrap();
    let mut rng = Rng(seed);
    let mut model = Model::new();
    for step in 0..600u64 {
        let i = rng.below(80);
        let mut b = WriteBatch::new();
        if rng.below(4) == 0 {
            b.delete(&key(i));
            model.remove(&key(i));
        } else {
            b.put(&key(i), &value(i, step));
            model.insert(key(i), value(i, step));
        }
        db.write_batch_applied(b, step + 1).unwrap();
        match step {
            199 | 399 => db.compact_all().unwrap(),
            _ if step % 97 == 0 => db.flush().unwrap(),
            _ => {}
        }
    }
    db.write_batch_applied(WriteBatch::new(), applied).unwrap();
    (fs, db, model)
}

/// The tables of `db`'s checkpoint as owned bytes, with its applied index and sequence.
fn export(db: &Db) -> (Vec<(u32, Vec<u8>)>, u64, u64) {
    let ck = db.checkpoint().unwrap();
    let tables = ck
        .tables()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut bytes = Vec::new();
            ck.read_table_into(i, &mut bytes).unwrap();
            assert_eq!(bytes.len() as u64, t.size_bytes);
            (t.level, bytes)
        })
        .collect();
    (tables, ck.applied_index(), ck.last_seq())
}

fn ingest_spec(tables: &[(u32, Vec<u8>)], applied: u64, last_seq: u64) -> IngestCheckpoint<'_> {
    IngestCheckpoint {
        tables: tables
            .iter()
            .map(|(level, bytes)| IngestTable {
                level: *level,
                bytes,
            })
            .collect(),
        applied_index: applied,
        last_seq,
    }
}

/// The receiving database: its own (different) content, some of it only in the
/// memtable (and, with a WAL, only in the WAL).
fn target(fs: &FaultFs, wal: bool) -> (Db, Model) {
    let db = Db::open(dir(), options(fs, wal)).unwrap();
    let mut model = Model::new();
    for i in 0..40u64 {
        let k = format!("old{i:03}").into_bytes();
        let mut b = WriteBatch::new();
        b.put(&k, b"old");
        if wal {
            db.write_batch(b).unwrap();
        } else {
            db.write_batch_applied(b, 5000 + i).unwrap();
        }
        model.insert(k, b"old".to_vec());
        if i == 20 {
            db.flush().unwrap();
        }
    }
    (db, model)
}

#[test]
fn ingested_checkpoint_reads_like_its_source() {
    let seed = seed(0xC4EC);
    let (_sfs, src, model) = source(seed, 700);
    let (tables, applied, last_seq) = export(&src);
    assert_eq!(applied, 700);
    assert!(tables.len() >= 2, "several tables: {}", tables.len());
    assert!(tables.iter().any(|(l, _)| *l > 0), "tables below level 0");
    for wal in [false, true] {
        let fs = FaultFs::new();
        let (db, _) = target(&fs, wal);
        db.ingest_checkpoint(&ingest_spec(&tables, applied, last_seq))
            .unwrap();
        assert_eq!(scan(&db), model, "wal={wal}");
        assert_eq!(db.get(b"old000").unwrap(), None);
        if !wal {
            assert_eq!(db.applied_index(), 700);
        }
        let stats = db.stats();
        assert_eq!(stats.tables, tables.len(), "ingested as tables");
        assert_eq!(
            stats.memtable_bytes, 0,
            "nothing replayed into the memtable"
        );
        // Writes after the ingest are newer than everything ingested.
        db.put(&key(1), b"after").unwrap();
        db.close().unwrap();
        let db = Db::open(dir(), options(&fs, wal)).unwrap();
        let mut want = model.clone();
        want.insert(key(1), b"after".to_vec());
        assert_eq!(scan(&db), want, "after reopen, wal={wal}");
        assert!(db.get(b"old039").unwrap().is_none(), "old WAL not replayed");
        let ssts = fs
            .files()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sst"))
            .count();
        assert_eq!(ssts, db.stats().tables, "old tables deleted");
        db.close().unwrap();
    }
}

#[test]
fn a_checkpoint_pins_its_tables_against_compaction() {
    let (_fs, src, model) = source(seed(0x91A), 650);
    let ck = src.checkpoint().unwrap();
    let before = ck.tables();
    for i in 0..50u64 {
        src.put(&key(i), b"newer").unwrap();
    }
    src.compact_all().unwrap();
    let now: Vec<_> = src.checkpoint().unwrap().tables();
    assert!(
        before.iter().all(|t| !now.iter().any(|n| n.id == t.id)),
        "compaction replaced every table"
    );
    let fs = FaultFs::new();
    let db = Db::open(dir(), options(&fs, false)).unwrap();
    let mut tables = Vec::new();
    for (i, t) in before.iter().enumerate() {
        let mut bytes = Vec::new();
        ck.read_table_into(i, &mut bytes).unwrap();
        tables.push((t.level, bytes));
    }
    db.ingest_checkpoint(&ingest_spec(&tables, ck.applied_index(), ck.last_seq()))
        .unwrap();
    assert_eq!(
        scan(&db),
        model,
        "the pinned tables still hold the old state"
    );
}

#[test]
fn a_damaged_table_is_refused_and_nothing_changes() {
    let (_sfs, src, _) = source(seed(0xBAD), 650);
    let (tables, applied, last_seq) = export(&src);
    let fs = FaultFs::new();
    let (db, old) = target(&fs, false);
    let files_before = fs.files();
    let mut rng = Rng(7);
    for _ in 0..40 {
        let mut damaged = tables.clone();
        let t = rng.below(damaged.len() as u64) as usize;
        let at = rng.below(damaged[t].1.len() as u64) as usize;
        damaged[t].1[at] ^= 1 << rng.below(8);
        let err = db
            .ingest_checkpoint(&ingest_spec(&damaged, applied, last_seq))
            .unwrap_err();
        assert!(err.is_corruption(), "table {t} byte {at}: {err}");
        assert_eq!(scan(&db), old, "state unchanged after a refused ingest");
        assert_eq!(fs.files(), files_before, "the refused tables were removed");
    }
    let mut overlapping = tables.clone();
    let l1: Vec<usize> = (0..tables.len()).filter(|i| tables[*i].0 > 0).collect();
    overlapping.push((tables[l1[0]].0, tables[l1[0]].1.clone()));
    let err = db
        .ingest_checkpoint(&ingest_spec(&overlapping, applied, last_seq))
        .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert_eq!(scan(&db), old);
    // Still writable: a refused ingest is not a fatal error.
    db.put(b"still", b"ok").unwrap();
}

/// Runs setup + ingest on a fresh disk, crashing before sync point `k` of the ingest
/// (`k == total`: a power cut right after it returned; `None`: no crash). Returns the
/// sync points the ingest performed.
fn crash_run(
    fs: &FaultFs,
    wal: bool,
    spec: &IngestCheckpoint<'_>,
    k: Option<(u64, u64)>,
    torn: Option<u64>,
) -> u64 {
    let (db, _) = target(fs, wal);
    let base = fs.sync_points();
    fs.set_crash_config(CrashConfig {
        crash_before_sync: k.map(|(k, _)| base + k),
        torn_tail_seed: torn,
    });
    let result = db.ingest_checkpoint(spec);
    let expect_err = k.is_some_and(|(k, total)| k < total);
    assert_eq!(result.is_err(), expect_err, "crash point {k:?}: {result:?}");
    let points = fs.sync_points() - base;
    if k.is_some() {
        fs.crash();
    }
    drop(db);
    points
}

/// What the target holds after a power cut with no ingest (without a WAL, only what it
/// flushed): the "old state" a crash during an ingest may reopen.
fn durable_old_state(wal: bool) -> Model {
    let fs = FaultFs::new();
    drop(target(&fs, wal));
    fs.crash();
    fs.restart();
    let db = Db::open(dir(), options(&fs, wal)).unwrap();
    let m = scan(&db);
    assert!(!m.is_empty());
    m
}

fn crash_test(wal: bool, torn: bool) {
    let seed = seed(0x1A57);
    let (_sfs, src, new_model) = source(seed, 800);
    let (tables, applied, last_seq) = export(&src);
    let spec = ingest_spec(&tables, applied, last_seq);
    let total = crash_run(&FaultFs::new(), wal, &spec, None, None);
    let old_model = durable_old_state(wal);
    println!(
        "wal={wal}: ingest of {} tables = {total} sync points",
        tables.len()
    );
    assert!(total > tables.len() as u64, "{total}");
    let mut outcomes = Vec::new();
    for k in 0..=total {
        let fs = FaultFs::new();
        let torn_seed = torn.then_some(seed.wrapping_add(k));
        crash_run(&fs, wal, &spec, Some((k, total)), torn_seed);
        fs.restart();
        let what =
            format!("seed {seed} wal={wal} crash before ingest sync {k}/{total} torn={torn}");
        let db = Db::open(dir(), options(&fs, wal)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let got = scan(&db);
        let new = got == new_model;
        if new {
            if !wal {
                assert_eq!(db.applied_index(), applied, "{what}");
            }
        } else {
            // The old durable state.
            assert!(
                got == old_model,
                "{what}: neither the old nor the new state"
            );
        }
        outcomes.push(new);
        for (k2, v) in &got {
            assert_eq!(db.get(k2).unwrap().as_ref(), Some(v), "{what}: get vs scan");
        }
        let ssts = fs
            .files()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sst"))
            .count();
        assert_eq!(
            ssts,
            db.stats().tables,
            "{what}: orphan tables removed at open"
        );
        db.put(b"after-crash", b"ok").unwrap();
        db.close().unwrap();
    }
    // Old up to the commit point, new from it on; new once the ingest returned.
    let first_new = outcomes.iter().position(|n| *n).unwrap();
    assert!(first_new > 0, "the first crash points keep the old state");
    assert!(outcomes[first_new..].iter().all(|n| *n), "{outcomes:?}");
    println!("commit point: the ingest's sync point {first_new} of {total}");
}

#[test]
fn crash_before_every_ingest_sync_point_gives_old_or_new() {
    crash_test(false, false);
}

#[test]
fn crash_before_every_ingest_sync_point_with_a_wal_gives_old_or_new() {
    crash_test(true, false);
}

#[test]
fn torn_tails_at_ingest_crash_points_give_old_or_new() {
    crash_test(false, true);
}
