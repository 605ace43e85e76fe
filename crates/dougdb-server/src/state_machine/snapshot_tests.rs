//! Snapshot format and install: round trips, every flipped bit and every cut detected
//! as corruption (never a wrong state), and a state machine installed from another's
//! snapshot reads the same, remembers the same sessions, and holds SSTables (no replay).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use dougdb_raft::{Entry, EntryKind, LogIndex, Term};
use dougdb_storage::fs::{FaultFs, SharedFs};

use super::snapshot::{self, SnapshotWriter};
use super::{Command, Op, Outcome, Session, StateMachine, StateMachineOptions, WriteTag};
use crate::error::Error;

fn session(seq: u64, outcome: Outcome) -> Session {
    Session {
        sequence: seq,
        index: seq * 10,
        outcome,
    }
}

fn sample() -> Vec<u8> {
    let s1 = session(3, Outcome::Put);
    let s2 = session(
        9,
        Outcome::Cas {
            success: false,
            current: Some(b"cur".to_vec()),
        },
    );
    let mut w = SnapshotWriter::new(77, 1234, &[(5, &s1), (900, &s2)], 2, 0);
    w.add_table(0, "000007.sst", |out| {
        out.extend_from_slice(b"table-zero-bytes");
        Ok(())
    })
    .unwrap();
    w.add_table(3, "000009.sst", |out| {
        out.extend_from_slice(&[0xAB; 40]);
        Ok(())
    })
    .unwrap();
    w.finish()
}

fn is_corruption(e: &Error) -> bool {
    matches!(e, Error::Storage { source } if source.is_corruption())
}

#[test]
fn format_round_trips() {
    let data = sample();
    let v = snapshot::decode(&data).unwrap();
    assert_eq!((v.applied_index, v.last_seq), (77, 1234));
    assert_eq!(v.sessions.len(), 2);
    assert_eq!(v.sessions[0], (5, session(3, Outcome::Put)));
    assert_eq!(v.sessions[1].0, 900);
    assert_eq!(v.tables.len(), 2);
    assert_eq!(
        (v.tables[0].level, v.tables[0].name.as_str()),
        (0, "000007.sst")
    );
    assert_eq!(v.tables[0].bytes, b"table-zero-bytes");
    assert_eq!((v.tables[1].level, v.tables[1].bytes), (3, &[0xAB; 40][..]));
    let empty = SnapshotWriter::new(0, 0, &[], 0, 0).finish();
    let v = snapshot::decode(&empty).unwrap();
    assert!(v.sessions.is_empty() && v.tables.is_empty());
}

#[test]
fn every_flipped_bit_is_corruption() {
    let data = sample();
    for byte in 0..data.len() {
        for bit in 0..8 {
            let mut d = data.clone();
            d[byte] ^= 1 << bit;
            let err = snapshot::decode(&d).unwrap_err();
            assert!(is_corruption(&err), "byte {byte} bit {bit}: {err}");
        }
    }
}

#[test]
fn every_truncation_and_extension_is_corruption() {
    let data = sample();
    for cut in 0..data.len() {
        let err = snapshot::decode(&data[..cut]).unwrap_err();
        assert!(is_corruption(&err), "cut at {cut}: {err}");
    }
    let mut longer = data.clone();
    longer.push(0);
    assert!(is_corruption(&snapshot::decode(&longer).unwrap_err()));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut x = 0x5EED_u64;
    println!("seed = {x}");
    for len in 0..400usize {
        let buf: Vec<u8> = (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        assert!(snapshot::decode(&buf).is_err());
        // With a valid header prefix, the rest still never panics.
        let mut d = sample();
        let n = len.min(d.len() - 40);
        d[40..40 + n].copy_from_slice(&buf[..n]);
        let _ = snapshot::decode(&d);
    }
}

// --- install on a state machine ---

fn opts(fs: &FaultFs) -> StateMachineOptions {
    let mut o = StateMachineOptions::default();
    o.db.fs = Arc::new(fs.clone()) as SharedFs;
    o.db.memtable_size_bytes = 64 << 10;
    o.db.background_compaction = false;
    o
}

fn entry(index: u64, cmd: &Command) -> Entry {
    Entry {
        index: LogIndex(index),
        term: Term(1),
        kind: EntryKind::Normal,
        data: cmd.encode(),
    }
}

fn put(client: u64, seq: u64, k: &str, v: &str) -> Command {
    Command {
        tag: WriteTag {
            client_id: client,
            sequence: seq,
        },
        op: Op::Put {
            key: k.as_bytes().to_vec(),
            value: v.as_bytes().to_vec(),
        },
    }
}

fn del(k: &str) -> Command {
    Command {
        tag: WriteTag::default(),
        op: Op::Delete {
            key: k.as_bytes().to_vec(),
        },
    }
}

/// A leader state machine with flushed, compacted and memtable-only data.
fn leader(fs: &FaultFs, n: u64) -> StateMachine {
    let mut sm = StateMachine::open(Path::new("/leader"), opts(fs)).unwrap();
    for i in 1..=n {
        let cmd = if i % 7 == 0 {
            del(&format!("k{:05}", i - 3))
        } else {
            put(
                i % 13,
                i,
                &format!("k{i:05}"),
                &format!("v{i}-{}", "x".repeat(40)),
            )
        };
        sm.apply_entry(&entry(i, &cmd)).unwrap();
        if i == n / 2 {
            sm.db().compact_all().unwrap();
        }
    }
    sm
}

fn all(sm: &StateMachine) -> Vec<(Vec<u8>, Vec<u8>)> {
    sm.db().scan(..).unwrap().map(|r| r.unwrap()).collect()
}

#[test]
fn installed_snapshot_reads_and_dedups_like_the_leader() {
    let lfs = FaultFs::new();
    let src = leader(&lfs, 2000);
    let data = src.snapshot_data().unwrap();
    let ffs = FaultFs::new();
    let mut dst = StateMachine::open(Path::new("/follower"), opts(&ffs)).unwrap();
    dst.apply_entry(&entry(1, &put(99, 1, "stale", "old")))
        .unwrap();
    dst.install_snapshot(2000, &data).unwrap();
    assert_eq!(all(&dst), all(&src), "identical content, sessions included");
    assert_eq!(dst.applied_index(), 2000);
    assert_eq!(dst.durable_applied_index(), 2000);
    assert_eq!(dst.sessions().sorted(), src.sessions().sorted());
    assert!(dst.sessions().get(99).is_none(), "the old session is gone");
    // SSTables, not a replay of puts: no memtable, no flush, the leader's table count.
    let (s, d) = (src.db().stats(), dst.db().stats());
    assert_eq!(d.tables, s.tables);
    assert!(d.tables > 1);
    assert_eq!(
        (d.memtable_bytes, d.flushes),
        (0, 0),
        "nothing flushed: no puts replayed"
    );
    // A retry of a write in the snapshot is a duplicate on the follower.
    let retry = put(1999 % 13, 1999, "k01999", "again");
    let applied = dst.apply_entry(&entry(2001, &retry)).unwrap();
    assert_eq!(applied, super::Applied::Duplicate(Outcome::Put));
    // And it survives a restart from its own files.
    dst.close().unwrap();
    let dst = StateMachine::open(Path::new("/follower"), opts(&ffs)).unwrap();
    assert_eq!(dst.durable_applied_index(), 2001);
    assert_eq!(dst.sessions().sorted(), src.sessions().sorted());
}

#[test]
fn a_damaged_snapshot_is_refused_and_the_old_state_stays() {
    let lfs = FaultFs::new();
    let src = leader(&lfs, 300);
    let data = src.snapshot_data().unwrap();
    let ffs = FaultFs::new();
    let mut dst = StateMachine::open(Path::new("/follower"), opts(&ffs)).unwrap();
    dst.apply_entry(&entry(1, &put(4, 1, "mine", "1"))).unwrap();
    let before = all(&dst);
    let mut x = 0xD00D_u64;
    println!("seed = {x}");
    for _ in 0..50 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (x >> 16) as usize % data.len();
        let mut d = data.clone();
        d[at] ^= 1 << (x % 8);
        let err = dst.install_snapshot(300, &d).unwrap_err();
        assert!(is_corruption(&err), "flip at {at}: {err}");
        assert_eq!(all(&dst), before, "flip at {at} changed the state");
        assert_eq!(dst.applied_index(), 1);
    }
    let err = dst
        .install_snapshot(300, &data[..data.len() / 2])
        .unwrap_err();
    assert!(is_corruption(&err));
    let err = dst.install_snapshot(301, &data).unwrap_err();
    assert!(is_corruption(&err), "index mismatch: {err}");
    dst.install_snapshot(300, &data).unwrap();
    assert_eq!(all(&dst), all(&src));
}

#[test]
fn applied_bytes_are_counted_until_the_log_is_compacted() {
    let fs = FaultFs::new();
    let mut o = opts(&fs);
    o.snapshot_log_bytes = Some(10_000);
    let mut sm = StateMachine::open(Path::new("/sm"), o).unwrap();
    assert!(!sm.wants_snapshot_by_bytes());
    let mut i = 0;
    while !sm.wants_snapshot_by_bytes() {
        i += 1;
        sm.apply_entry(&entry(i, &put(0, 0, "k", &"v".repeat(500))))
            .unwrap();
    }
    assert!(
        (18..=20).contains(&i),
        "{i} entries of ~550 bytes reach 10 000"
    );
    let before = sm.log_bytes_since_snapshot();
    sm.apply_entry(&entry(i, &put(0, 0, "k", "replayed")))
        .unwrap();
    assert_eq!(
        sm.log_bytes_since_snapshot(),
        before,
        "a replay is not counted"
    );
    sm.note_log_compacted();
    assert_eq!(sm.log_bytes_since_snapshot(), 0);
    let default = StateMachineOptions::default().snapshot_log_bytes;
    assert_eq!(default, Some(super::SNAPSHOT_LOG_BYTES_DEFAULT));
}

/// Size and time of a snapshot of 100k keys on the real disk (run with `--ignored
/// --nocapture`, in release for meaningful times).
#[test]
#[ignore = "measurement"]
fn measure_snapshot_of_100k_keys() {
    let dir = tempfile::tempdir().unwrap();
    let o = StateMachineOptions::default;
    let mut src = StateMachine::open(&dir.path().join("src"), o()).unwrap();
    let n = 100_000u64;
    for i in 1..=n {
        let cmd = put(
            i % 1000 + 1,
            i,
            &format!("key{i:08}"),
            &format!("value-{i:08}-{}", "x".repeat(80)),
        );
        src.apply_entry(&entry(i, &cmd)).unwrap();
    }
    let t = std::time::Instant::now();
    let data = src.snapshot_data().unwrap();
    let taken = t.elapsed();
    let mut dst = StateMachine::open(&dir.path().join("dst"), o()).unwrap();
    let t = std::time::Instant::now();
    dst.install_snapshot(n, &data).unwrap();
    let installed = t.elapsed();
    println!(
        "100k keys (~100 B values), {} sessions: snapshot {} bytes in {} tables, \
         snapshot_data {taken:?} (includes the memtable flush), install {installed:?}",
        src.sessions().len(),
        data.len(),
        src.db().stats().tables,
    );
    assert_eq!(
        dst.get(b"key00000001").unwrap(),
        src.get(b"key00000001").unwrap()
    );
}
