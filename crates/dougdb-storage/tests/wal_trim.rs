//! drop_before (prefix of whole segments) and truncate_from (suffix from a record), across
//! segment boundaries, followed by appends and reopen.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

mod wal_util;

use std::path::Path;
use std::sync::Arc;

use dougdb_storage::Error;
use dougdb_storage::fs::FaultFs;
use dougdb_storage::wal::{Position, Wal, WalOptions};
use wal_util::*;

fn dir() -> &'static Path {
    Path::new("/wal")
}

fn opts() -> WalOptions {
    WalOptions {
        segment_size_bytes: 1024,
        record_size_max_bytes: 4096,
    }
}

fn open(fs: &FaultFs) -> Wal {
    Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap().0
}

/// 60 records of 100 payload bytes (116-byte frames): 8 per 1 KiB segment.
fn filled(fs: &FaultFs) -> (Wal, Vec<(Position, Vec<u8>)>) {
    let wal = open(fs);
    let records: Vec<_> = (0..60u8)
        .map(|i| (wal.append(&[i; 100]).unwrap(), vec![i; 100]))
        .collect();
    wal.sync().unwrap();
    assert_eq!(segments(fs, dir()).len(), 8);
    (wal, records)
}

#[test]
fn drop_before_removes_only_whole_segments_ending_at_or_before_pos() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    // Record 20 is the 5th of the 3rd segment (records 16..24): segments 0 and 1 end
    // at or before it, segment 2 does not.
    assert_eq!(wal.drop_before(records[20].0).unwrap(), 2);
    assert_eq!(wal.first_position(), records[16].0);
    assert_eq!(read_all(&wal), records[16..]);
    assert!(matches!(
        wal.read(records[3].0),
        Err(Error::OutOfRange { .. })
    ));
    // Exactly at a segment start: the segment before it ends there, so it goes too.
    assert_eq!(wal.drop_before(records[24].0).unwrap(), 1);
    assert_eq!(wal.first_position(), records[24].0);
    assert_eq!(wal.drop_before(records[24].0).unwrap(), 0, "idempotent");
    drop(wal);
    let (wal, recovery) = Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap();
    assert_eq!(recovery.records, 36);
    assert_eq!(wal.first_position(), records[24].0);
    assert_eq!(read_all(&wal), records[24..]);
}

#[test]
fn drop_before_never_removes_the_active_segment() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    let end = wal.end_position();
    assert_eq!(wal.drop_before(Position(u64::MAX)).unwrap(), 7);
    assert_eq!(segments(&fs, dir()).len(), 1);
    assert_eq!(wal.first_position(), records[56].0);
    assert_eq!(read_all(&wal), records[56..]);
    let next = wal.append_durable(b"after").unwrap();
    assert_eq!(next, end);
    drop(wal);
    let wal = open(&fs);
    assert_eq!(wal.read(next).unwrap().0, b"after");
}

#[test]
fn truncate_from_across_segment_boundaries_then_reopen() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    wal.truncate_from(records[13].0).unwrap();
    assert_eq!(wal.end_position(), records[13].0);
    assert_eq!(wal.durable_position(), records[13].0);
    assert_eq!(segments(&fs, dir()).len(), 2, "later segments are deleted");
    assert_eq!(read_all(&wal), records[..13]);
    // Appends reuse the freed positions and roll again as the segment fills.
    let replaced: Vec<_> = (100..120u8)
        .map(|i| (wal.append(&[i; 100]).unwrap(), vec![i; 100]))
        .collect();
    assert_eq!(replaced[0].0, records[13].0);
    wal.sync().unwrap();
    let mut expected = records[..13].to_vec();
    expected.extend(replaced);
    assert_eq!(read_all(&wal), expected);
    drop(wal);
    let (wal, recovery) = Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap();
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(read_all(&wal), expected);
}

#[test]
fn truncate_from_at_a_segment_start_keeps_an_empty_segment() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    wal.truncate_from(records[16].0).unwrap();
    assert_eq!(segments(&fs, dir()).len(), 3);
    assert_eq!(read_all(&wal), records[..16]);
    drop(wal);
    let (wal, recovery) = Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap();
    assert_eq!((recovery.records, recovery.end), (16, records[16].0));
    assert_eq!(wal.append(b"x").unwrap(), records[16].0);
}

#[test]
fn truncate_everything_then_append() {
    let fs = FaultFs::new();
    let (wal, _) = filled(&fs);
    wal.truncate_from(Position(0)).unwrap();
    assert_eq!(wal.end_position(), Position(0));
    assert!(read_all(&wal).is_empty());
    wal.append_durable(b"again").unwrap();
    drop(wal);
    let wal = open(&fs);
    assert_eq!(read_all(&wal), vec![(Position(0), b"again".to_vec())]);
}

#[test]
fn truncate_from_refuses_non_boundaries_and_out_of_range() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    let err = wal.truncate_from(Position(records[5].0.0 + 3)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let beyond = Position(wal.end_position().0 + 1);
    assert!(matches!(
        wal.truncate_from(beyond),
        Err(Error::OutOfRange { .. })
    ));
    wal.drop_before(records[8].0).unwrap();
    assert!(matches!(
        wal.truncate_from(records[2].0),
        Err(Error::OutOfRange { .. })
    ));
    wal.truncate_from(wal.end_position()).unwrap();
    assert_eq!(read_all(&wal), records[8..], "refusals change nothing");
}

#[test]
fn truncate_of_unsynced_records_then_crash_keeps_the_synced_prefix() {
    let fs = FaultFs::new();
    let (wal, records) = filled(&fs);
    let extra: Vec<_> = (0..12u8).map(|i| wal.append(&[i; 100]).unwrap()).collect();
    wal.truncate_from(extra[4]).unwrap();
    wal.append_durable(b"replacement").unwrap();
    drop(wal);
    fs.restart();
    let wal = open(&fs);
    let got = read_all(&wal);
    assert_eq!(got[..60], records[..]);
    assert_eq!(got.len(), 65);
    assert_eq!(got[64], (extra[4], b"replacement".to_vec()));
}
