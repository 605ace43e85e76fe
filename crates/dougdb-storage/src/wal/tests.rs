//! Unit tests of the WAL over the in-memory FaultFs: argument checks, the pending buffer,
//! positions, rolls and poisoning. File-level scenarios live in tests/wal_*.rs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::fs::{CrashConfig, FaultFs, FileSystem};

fn dir() -> PathBuf {
    PathBuf::from("/wal")
}

fn small() -> WalOptions {
    WalOptions {
        segment_size_bytes: 256,
        record_size_max_bytes: 1024,
    }
}

fn open(fs: &FaultFs, opts: WalOptions) -> (Wal, Recovery) {
    Wal::open(Arc::new(fs.clone()), &dir(), opts).unwrap()
}

fn segment_names(fs: &FaultFs) -> Vec<String> {
    fs.list_dir(Path::new("/wal")).unwrap()
}

#[test]
fn fresh_log_is_empty_and_starts_at_zero() {
    let fs = FaultFs::new();
    let (wal, recovery) = open(&fs, small());
    assert_eq!(recovery, Recovery::default());
    assert_eq!(wal.first_position(), Position(0));
    assert_eq!(wal.end_position(), Position(0));
    assert_eq!(wal.durable_position(), Position(0));
    assert_eq!(segment_names(&fs), vec!["00000000000000000000.wal"]);
}

#[test]
fn positions_are_frame_byte_offsets() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    assert_eq!(wal.append(b"abc").unwrap(), Position(0));
    assert_eq!(wal.append(b"defgh").unwrap(), Position(19));
    assert_eq!(wal.end_position(), Position(19 + 21));
    assert_eq!(
        wal.read(Position(19)).unwrap(),
        (b"defgh".to_vec(), Position(40))
    );
}

#[test]
fn empty_and_oversize_records_are_invalid_arguments() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    assert!(matches!(
        wal.append(b""),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        wal.append(&[1u8; 1025]),
        Err(Error::InvalidArgument { .. })
    ));
    wal.append(&[1u8; 1024]).unwrap();
    let err = wal.append_batch(&[b"ok", b""]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert_eq!(wal.stats().appends, 1, "a refused batch appends nothing");
}

#[test]
fn bad_options_are_invalid_arguments() {
    let fs = FaultFs::new();
    for opts in [
        WalOptions {
            segment_size_bytes: SEGMENT_SIZE_MIN_BYTES - 1,
            ..WalOptions::default()
        },
        WalOptions {
            record_size_max_bytes: 0,
            ..WalOptions::default()
        },
    ] {
        let err = Wal::open(Arc::new(fs.clone()), &dir(), opts).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{opts:?}");
    }
}

#[test]
fn reads_serve_pending_written_and_synced_records() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    let a = wal.append(b"pending").unwrap();
    assert_eq!(wal.read(a).unwrap().0, b"pending");
    wal.sync().unwrap();
    let b = wal.append(b"second").unwrap();
    assert_eq!(wal.read(a).unwrap().0, b"pending");
    assert_eq!(wal.read(b).unwrap().0, b"second");
    assert_eq!(wal.durable_position(), b);
}

#[test]
fn non_boundary_and_out_of_range_reads_are_refused() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    wal.append(b"0123456789").unwrap();
    wal.append(b"x").unwrap();
    for synced in [false, true] {
        if synced {
            wal.sync().unwrap();
        }
        for pos in 1..26 {
            let err = wal.read(Position(pos)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { .. }),
                "pos {pos}: {err}"
            );
        }
        let end = wal.end_position();
        assert!(matches!(wal.read(end), Err(Error::OutOfRange { .. })));
        assert!(matches!(
            wal.iter_from(Position(end.0 + 1)),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            wal.wait_durable(Position(end.0 + 1)),
            Err(Error::OutOfRange { .. })
        ));
    }
}

#[test]
fn segments_roll_before_exceeding_the_size_limit() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    // 32-byte header + 100-byte frames: two fit in 256 bytes, the third rolls.
    let positions: Vec<Position> = (0..5u8).map(|i| wal.append(&[i; 84]).unwrap()).collect();
    wal.sync().unwrap();
    let names = segment_names(&fs);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[1], segment::segment_file_name(positions[2].0));
    for name in &names {
        let len = fs.file_len(&dir().join(name)).unwrap();
        assert!(len <= 256, "{name} is {len} bytes");
    }
    let big = wal.append(&[9u8; 1000]).unwrap();
    wal.sync().unwrap();
    assert_eq!(wal.read(big).unwrap().0, vec![9u8; 1000]);
    assert_eq!(
        segment_names(&fs).len(),
        4,
        "an oversize record gets its own segment"
    );
}

#[test]
fn truncate_within_the_pending_buffer_never_touches_files() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    let a = wal.append(b"keep").unwrap();
    wal.sync().unwrap();
    let syncs = wal.stats().syncs;
    let b = wal.append(b"drop me").unwrap();
    wal.append(b"and me").unwrap();
    wal.truncate_from(b).unwrap();
    assert_eq!(wal.stats().syncs, syncs);
    assert_eq!(wal.end_position(), b);
    assert_eq!(wal.append(b"new").unwrap(), b);
    let all: Vec<_> = wal.iter_from(a).unwrap().map(|r| r.unwrap().1).collect();
    assert_eq!(all, vec![b"keep".to_vec(), b"new".to_vec()]);
}

#[test]
fn unsynced_records_are_written_on_drop() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    wal.append(b"written at drop").unwrap();
    drop(wal);
    let (wal, recovery) = open(&fs, small());
    assert_eq!(recovery.records, 1);
    assert_eq!(wal.read(Position(0)).unwrap().0, b"written at drop");
}

#[test]
fn a_failed_sync_closes_the_log_for_writes() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    let a = wal.append_durable(b"durable").unwrap();
    fs.set_crash_config(CrashConfig {
        crash_before_sync: Some(fs.sync_points()),
        torn_tail_seed: None,
    });
    assert!(wal.append_durable(b"lost").is_err());
    assert!(matches!(wal.append(b"more"), Err(Error::Closed { .. })));
    assert!(matches!(wal.sync(), Err(Error::Closed { .. })));
    assert!(matches!(wal.truncate_from(a), Err(Error::Closed { .. })));
    drop(wal);
    fs.restart();
    let (wal, _) = open(&fs, small());
    let got: Vec<_> = wal
        .iter_from(Position(0))
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(got, vec![b"durable".to_vec()]);
}

#[test]
fn wait_durable_at_end_syncs_everything_appended() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    wal.append(b"one").unwrap();
    wal.append(b"two").unwrap();
    let end = wal.end_position();
    wal.wait_durable(end).unwrap();
    assert_eq!(wal.durable_position(), end);
    let before = wal.stats().syncs;
    wal.sync().unwrap();
    wal.wait_durable(Position(0)).unwrap();
    assert_eq!(wal.stats().syncs, before, "nothing new to sync");
}

#[test]
fn iter_sees_only_records_appended_before_the_call() {
    let fs = FaultFs::new();
    let (wal, _) = open(&fs, small());
    for i in 0..10u8 {
        wal.append(&[i; 40]).unwrap();
    }
    let iter = wal.iter_from(Position(0)).unwrap();
    wal.append(b"later").unwrap();
    let got: Vec<_> = iter.map(|r| r.unwrap().1[0]).collect();
    assert_eq!(got, (0..10u8).collect::<Vec<_>>());
}

#[test]
fn wal_and_iter_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<WalIter>();
}
