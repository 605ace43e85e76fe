//! Db round trips: put/get/delete/overwrite, batches, scans with bounds across memtable,
//! level 0 and deeper levels, snapshots, reopen (WAL and flush), bad input.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::collections::BTreeMap;
use std::ops::Bound;

use dougdb_storage::Error;
use dougdb_storage::fs::FaultFs;
use dougdb_storage::lsm::{Db, Options, WriteBatch};
use lsm_common::{assert_matches, dir, key, small_options, value};

fn open(fs: &FaultFs) -> Db {
    Db::open(dir(), small_options(fs)).unwrap()
}

fn scan_all(db: &Db, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan_bounds(lo, hi)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn put_get_delete_overwrite_round_trip() {
    let fs = FaultFs::new();
    let db = open(&fs);
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"a", b"1").unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    db.put(b"a", b"2").unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"2".to_vec()));
    db.delete(b"a").unwrap();
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"a", b"").unwrap();
    assert_eq!(
        db.get(b"a").unwrap(),
        Some(Vec::new()),
        "empty values are values"
    );
    db.close().unwrap();
}

#[test]
fn reads_see_memtable_level0_and_deeper_levels_newest_first() {
    let fs = FaultFs::new();
    let db = open(&fs);
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.compact_all().unwrap();
    for i in 0..100 {
        if i % 3 == 0 {
            db.put(&key(i), &value(i, 1)).unwrap();
        }
    }
    db.flush().unwrap();
    for i in 0..100 {
        if i % 5 == 0 {
            db.delete(&key(i)).unwrap();
        }
    }
    let stats = db.stats();
    assert!(stats.levels[0].tables >= 1 && stats.levels[1..].iter().any(|l| l.tables > 0));
    let mut model = BTreeMap::new();
    for i in 0..100 {
        let v = if i % 5 == 0 {
            continue;
        } else if i % 3 == 0 {
            value(i, 1)
        } else {
            value(i, 0)
        };
        model.insert(key(i), v);
    }
    assert_matches(&db, &model, 100);
    let got = scan_all(&db, Bound::Included(&key(10)), Bound::Excluded(&key(20)));
    let want: Vec<_> = model
        .range(key(10)..key(20))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(got, want);
    let got = scan_all(&db, Bound::Excluded(&key(9)), Bound::Included(&key(12)));
    let keys: Vec<_> = got.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, vec![key(11), key(12)], "10 is deleted, 9 excluded");
    assert!(scan_all(&db, Bound::Included(b"zzz"), Bound::Unbounded).is_empty());
}

#[test]
fn write_batch_applies_every_op_in_order() {
    let fs = FaultFs::new();
    let db = open(&fs);
    db.put(b"gone", b"x").unwrap();
    let mut b = WriteBatch::new();
    b.put(b"k", b"1");
    b.put(b"k", b"2");
    b.delete(b"gone");
    b.put(b"other", b"o");
    assert_eq!(b.len(), 4);
    db.write_batch(b).unwrap();
    assert_eq!(
        db.get(b"k").unwrap(),
        Some(b"2".to_vec()),
        "later op in a batch wins"
    );
    assert_eq!(db.get(b"gone").unwrap(), None);
    assert_eq!(db.get(b"other").unwrap(), Some(b"o".to_vec()));
}

#[test]
fn snapshot_hides_later_writes_from_scans_and_gets() {
    let fs = FaultFs::new();
    let db = open(&fs);
    for i in 0..50 {
        db.put(&key(i), b"old").unwrap();
    }
    let snap = db.snapshot();
    let iter = db.scan(..).unwrap();
    for i in 0..50 {
        db.put(&key(i), b"new").unwrap();
    }
    db.delete(&key(7)).unwrap();
    db.put(&key(999), b"new").unwrap();
    db.flush().unwrap();
    db.compact_all().unwrap();
    let seen: Vec<_> = iter.map(|r| r.unwrap()).collect();
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|(_, v)| v == b"old"));
    let at: Vec<_> = db.scan_at(.., &snap).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(at, seen, "compaction kept what the snapshot needs");
    assert_eq!(db.get_at(&key(7), &snap).unwrap(), Some(b"old".to_vec()));
    assert_eq!(db.get(&key(7)).unwrap(), None);
    assert_eq!(db.get(&key(8)).unwrap(), Some(b"new".to_vec()));
}

#[test]
fn reopen_after_wal_only_and_after_flush() {
    let fs = FaultFs::new();
    let mut model = BTreeMap::new();
    {
        let db = open(&fs);
        for i in 0..300 {
            db.put(&key(i), &value(i, 1)).unwrap();
            model.insert(key(i), value(i, 1));
        }
        db.flush().unwrap();
        for i in 0..20 {
            db.delete(&key(i)).unwrap();
            model.remove(&key(i));
        }
        db.put(&key(5000), b"wal only").unwrap();
        model.insert(key(5000), b"wal only".to_vec());
        db.close().unwrap();
    }
    let db = open(&fs);
    assert_matches(&db, &model, 300);
    assert_eq!(db.get(&key(5000)).unwrap(), Some(b"wal only".to_vec()));
    drop(db);
    // A power cut after a clean close loses nothing either.
    fs.restart();
    let db = open(&fs);
    assert_matches(&db, &model, 300);
}

#[test]
fn without_wal_flush_persists_applied_index_and_unflushed_writes_are_lost() {
    let fs = FaultFs::new();
    let opts = || Options {
        wal: false,
        ..small_options(&fs)
    };
    {
        let db = Db::open(dir(), opts()).unwrap();
        assert_eq!(db.applied_index(), 0);
        for i in 1..=10u64 {
            let mut b = WriteBatch::new();
            b.put(&key(i), &value(i, 0));
            db.write_batch_applied(b, i).unwrap();
        }
        db.flush().unwrap();
        assert_eq!(db.applied_index(), 10);
        let mut b = WriteBatch::new();
        b.put(&key(11), b"lost");
        db.write_batch_applied(b, 11).unwrap();
        db.write_batch_applied(WriteBatch::new(), 12).unwrap();
        assert_eq!(
            db.applied_index(),
            10,
            "only a flush makes an index durable"
        );
        fs.crash();
    }
    fs.restart();
    let db = Db::open(dir(), opts()).unwrap();
    assert_eq!(db.applied_index(), 10);
    assert_eq!(db.get(&key(10)).unwrap(), Some(value(10, 0)));
    assert_eq!(
        db.get(&key(11)).unwrap(),
        None,
        "the caller replays after index 10"
    );
    db.write_batch_applied(WriteBatch::new(), 12).unwrap();
    db.close().unwrap();
    let db = Db::open(dir(), opts()).unwrap();
    assert_eq!(
        db.applied_index(),
        12,
        "close flushes (an empty batch advances the index)"
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let fs = FaultFs::new();
    let opts = Options {
        key_size_max_bytes: 8,
        value_size_max_bytes: 16,
        ..small_options(&fs)
    };
    let db = Db::open(dir(), opts).unwrap();
    let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument { .. }));
    assert!(invalid(db.put(b"", b"v")));
    assert!(invalid(db.put(b"123456789", b"v")));
    assert!(invalid(db.put(b"k", &[0; 17])));
    assert!(invalid(db.delete(b"")));
    assert!(matches!(db.get(b""), Err(Error::InvalidArgument { .. })));
    let mut b = WriteBatch::new();
    b.put(b"ok", b"fine");
    b.put(b"toolongkey", b"v");
    assert!(invalid(db.write_batch(b)));
    assert_eq!(
        db.get(b"ok").unwrap(),
        None,
        "a refused batch writes nothing"
    );
    db.put(b"12345678", &[7; 16]).unwrap();
    assert_eq!(db.stats().last_seq, 1);
}

#[test]
fn real_file_system_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = || Options {
        memtable_size_bytes: 16 << 10,
        ..Options::default()
    };
    {
        let db = Db::open(tmp.path(), opts()).unwrap();
        for i in 0..300 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.delete(&key(3)).unwrap();
        db.close().unwrap();
    }
    let db = Db::open(tmp.path(), opts()).unwrap();
    assert_eq!(db.get(&key(299)).unwrap(), Some(value(299, 0)));
    assert_eq!(db.get(&key(3)).unwrap(), None);
    assert_eq!(db.scan(..).unwrap().count(), 299);
    db.flush().unwrap();
    assert!(db.stats().tables > 0);
    db.close().unwrap();
    let db = Db::open(tmp.path(), opts()).unwrap();
    assert_eq!(
        db.scan(..).unwrap().count(),
        299,
        "tables reopen from the real disk"
    );
}

#[test]
fn group_commit_concurrent_writes_are_durable_when_they_return() {
    let fs = FaultFs::new();
    let opts = || Options {
        sync: dougdb_storage::lsm::SyncMode::GroupCommit,
        memtable_size_bytes: 1 << 30,
        ..small_options(&fs)
    };
    let db = std::sync::Arc::new(Db::open(dir(), opts()).unwrap());
    let before = fs.sync_points();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let db = std::sync::Arc::clone(&db);
            std::thread::spawn(move || {
                for i in 0..100 {
                    db.put(&key(t * 1000 + i), &value(i, t)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // The in-memory disk syncs instantly, so little is shared here; the WAL's own tests
    // measure the sharing ratio with slow syncs.
    println!(
        "400 group-committed writes took {} sync points",
        fs.sync_points() - before
    );
    fs.crash(); // a power cut right after the writes returned
    drop(db);
    fs.restart();
    let db = Db::open(dir(), opts()).unwrap();
    for t in 0..4u64 {
        for i in 0..100 {
            assert_eq!(db.get(&key(t * 1000 + i)).unwrap(), Some(value(i, t)));
        }
    }
}
