//! WAL round trips on the real file system: varied sizes, segment rolls, reads from any
//! position, iteration, reopen, and readers racing an appender.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

mod wal_util;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dougdb_storage::fs::{self, FileSystem, RealFs};
use dougdb_storage::wal::{Position, Wal, WalOptions, segment};
use parking_lot::Mutex;
use rand::Rng;
use wal_util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Appends `n` seeded payloads, mixing single appends and batches; returns the records.
fn fill(wal: &Wal, seed: u64, n: u64) -> Vec<(Position, Vec<u8>)> {
    let mut rng = rng(seed);
    let mut records = Vec::new();
    let mut id = 0;
    while id < n {
        if rng.random_bool(0.3) {
            let batch: Vec<Vec<u8>> = (id..(id + 8).min(n))
                .map(|i| payload(&mut rng, i))
                .collect();
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let positions = wal.append_batch(&refs).unwrap();
            id += batch.len() as u64;
            records.extend(positions.into_iter().zip(batch));
        } else {
            let p = payload(&mut rng, id);
            records.push((wal.append(&p).unwrap(), p));
            id += 1;
        }
        if rng.random_bool(0.05) {
            wal.sync().unwrap();
        }
    }
    records
}

#[test]
fn many_records_of_varied_sizes_round_trip_through_reopen() {
    let seed = seed("many_records_of_varied_sizes_round_trip_through_reopen");
    let dir = tempdir();
    let (wal, _) = Wal::open(fs::real(), dir.path(), small_segments()).unwrap();
    let records = fill(&wal, seed, 1500);
    assert_eq!(read_all(&wal), records, "before sync");
    wal.sync().unwrap();
    assert_eq!(wal.durable_position(), wal.end_position());
    assert_eq!(read_all(&wal), records, "after sync");
    let end = wal.end_position();
    drop(wal);
    let (wal, recovery) = Wal::open(fs::real(), dir.path(), small_segments()).unwrap();
    assert_eq!(recovery.records, records.len() as u64);
    assert_eq!((recovery.end, recovery.truncated_bytes), (end, 0));
    assert_eq!(recovery.truncated_segment, None);
    assert_eq!(read_all(&wal), records, "after reopen");
}

#[test]
fn segments_roll_at_the_size_limit_and_are_named_by_start() {
    let seed = seed("segments_roll_at_the_size_limit_and_are_named_by_start");
    let dir = tempdir();
    let opts = small_segments();
    let (wal, _) = Wal::open(fs::real(), dir.path(), opts).unwrap();
    let records = fill(&wal, seed, 600);
    wal.sync().unwrap();
    let paths = segments(&RealFs, dir.path());
    assert!(paths.len() > 10, "only {} segments", paths.len());
    let starts: Vec<u64> = paths
        .iter()
        .map(|p| {
            segment::parse_segment_file_name(p.file_name().unwrap().to_str().unwrap()).unwrap()
        })
        .collect();
    for (i, path) in paths.iter().enumerate() {
        let in_segment: Vec<&(Position, Vec<u8>)> = records
            .iter()
            .filter(|(p, _)| p.0 >= starts[i] && starts.get(i + 1).is_none_or(|&n| p.0 < n))
            .collect();
        assert_eq!(
            in_segment[0].0.0, starts[i],
            "a segment starts at its first record"
        );
        let len = RealFs.read_all(path).unwrap().len() as u64;
        assert!(
            len <= opts.segment_size_bytes || in_segment.len() == 1,
            "{} holds {} records in {len} bytes",
            path.display(),
            in_segment.len()
        );
        if let Some(&next) = starts.get(i + 1) {
            let next_frame = 16 + records.iter().find(|(p, _)| p.0 == next).unwrap().1.len() as u64;
            assert!(
                len + next_frame > opts.segment_size_bytes,
                "rolled too early"
            );
        }
    }
}

#[test]
fn read_from_any_position_returns_that_record_and_the_next_position() {
    let seed = seed("read_from_any_position_returns_that_record_and_the_next_position");
    let dir = tempdir();
    let (wal, _) = Wal::open(fs::real(), dir.path(), small_segments()).unwrap();
    let records = fill(&wal, seed, 400);
    let check = |wal: &Wal| {
        for (i, (position, payload)) in records.iter().enumerate() {
            let (got, next) = wal.read(*position).unwrap();
            assert_eq!(&got, payload, "record {i}");
            let expected_next = records.get(i + 1).map_or(wal.end_position(), |r| r.0);
            assert_eq!(next, expected_next);
        }
    };
    check(&wal);
    wal.sync().unwrap();
    check(&wal);
}

#[test]
fn iter_from_every_record_yields_exactly_the_suffix() {
    let seed = seed("iter_from_every_record_yields_exactly_the_suffix");
    let dir = tempdir();
    let (wal, _) = Wal::open(fs::real(), dir.path(), small_segments()).unwrap();
    let records = fill(&wal, seed, 150);
    wal.sync().unwrap();
    for i in 0..records.len() {
        let got: Vec<_> = wal
            .iter_from(records[i].0)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, records[i..], "from record {i}");
    }
    assert_eq!(wal.iter_from(wal.end_position()).unwrap().count(), 0);
}

#[test]
fn reopen_reads_everything_back_and_appends_continue() {
    let seed = seed("reopen_reads_everything_back_and_appends_continue");
    let dir = tempdir();
    let mut all = Vec::new();
    for round in 0..4 {
        let (wal, recovery) = Wal::open(fs::real(), dir.path(), small_segments()).unwrap();
        assert_eq!(recovery.records, all.len() as u64, "round {round}");
        assert_eq!(read_all(&wal), all, "round {round}");
        all.extend(fill(&wal, seed ^ round, 200));
        wal.sync().unwrap();
    }
}

#[test]
fn readers_racing_an_appender_always_see_intact_records() {
    let seed = seed("readers_racing_an_appender_always_see_intact_records");
    let dir = tempdir();
    let opts = WalOptions {
        segment_size_bytes: 8 << 10,
        ..small_segments()
    };
    let (wal, _) = Wal::open(fs::real(), dir.path(), opts).unwrap();
    let wal = Arc::new(wal);
    let known: Arc<Mutex<Records>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (wal, known, done) = (Arc::clone(&wal), Arc::clone(&known), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut rng = rng(seed ^ (r + 1));
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) || reads == 0 {
                    let pick = {
                        let known = known.lock();
                        if known.is_empty() {
                            continue;
                        }
                        known[rng.random_range(0..known.len())].clone()
                    };
                    assert_eq!(wal.read(pick.0).unwrap().0, pick.1);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut rng = rng(seed);
    for id in 0..3000 {
        let p = payload(&mut rng, id);
        let position = wal.append(&p).unwrap();
        known.lock().push((position, p));
        if rng.random_bool(0.1) {
            wal.sync().unwrap();
        }
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert_eq!(read_all(&wal), *known.lock());
}

/// `flush` hands records to the OS without an fsync: a second handle (a restarted
/// process) reads them, while a power cut (FaultFs restart) still loses them.
#[test]
fn flush_writes_records_to_the_os_without_making_them_durable() {
    use dougdb_storage::fs::{FaultFs, SharedFs};

    let dir = std::path::Path::new("/wal");
    let flushed_then = |crash: &dyn Fn(&FaultFs)| {
        let fs = FaultFs::new();
        let shared: SharedFs = Arc::new(fs.clone());
        let (wal, _) = Wal::open(shared.clone(), dir, WalOptions::default()).unwrap();
        wal.append(b"first").unwrap();
        let syncs_before = wal.stats().syncs;
        wal.flush().unwrap();
        assert_eq!(wal.stats().syncs, syncs_before, "flush must not fsync");
        // The process stops here: the handle is leaked, nothing more reaches the OS.
        std::mem::forget(wal);
        crash(&fs);
        Wal::open(shared, dir, WalOptions::default()).unwrap()
    };

    let (after_process_crash, recovery) = flushed_then(&|_| {});
    assert_eq!(
        recovery.records, 1,
        "a flushed record survives a process crash"
    );
    let (payload, _) = after_process_crash
        .read(after_process_crash.first_position())
        .unwrap();
    assert_eq!(payload, b"first");

    let (_, recovery) = flushed_then(&|fs| fs.restart());
    assert_eq!(
        recovery.records, 0,
        "a power cut loses what was never fsynced"
    );
}
