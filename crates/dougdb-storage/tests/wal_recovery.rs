//! Recovery on open: torn tails are cut and reported, corruption before the tail is an
//! error naming the segment and offset, never skipped.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

mod wal_util;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_storage::Error;
use dougdb_storage::fs::{FaultFs, FileSystem};
use dougdb_storage::wal::{Position, Recovery, Wal, WalOptions, segment};
use rand::Rng;
use wal_util::*;

fn dir() -> &'static Path {
    Path::new("/wal")
}

fn opts() -> WalOptions {
    WalOptions {
        segment_size_bytes: 4096,
        record_size_max_bytes: 8192,
    }
}

/// A synced log of at least 60 seeded records of 1..400 bytes over several segments,
/// the last of which holds at least 3 records; the same seed builds the same bytes.
fn build(seed: u64) -> (FaultFs, Records) {
    let fs = FaultFs::new();
    let (wal, _) = Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap();
    let mut rng = rng(seed);
    let mut records = Records::new();
    loop {
        let len = rng.random_range(1..400);
        let p: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        records.push((wal.append(&p).unwrap(), p));
        wal.sync().unwrap();
        let last = segments(&fs, dir()).pop().unwrap();
        let in_last = records
            .iter()
            .filter(|(p, _)| segment_of(&fs, dir(), *p) == last)
            .count();
        if records.len() >= 60 && in_last >= 3 {
            break;
        }
    }
    assert!(segments(&fs, dir()).len() >= 3);
    (fs, records)
}

fn reopen(fs: &FaultFs) -> Result<(Wal, Recovery), Error> {
    Wal::open(Arc::new(fs.clone()), dir(), opts())
}

fn frame_len(records: &Records, i: usize) -> u64 {
    16 + records[i].1.len() as u64
}

fn expect_corruption(fs: &FaultFs, file: &Path, offset: u64) {
    match reopen(fs) {
        Err(Error::Corruption {
            file: f, offset: o, ..
        }) => assert_eq!((f.as_path(), o), (file, offset)),
        Err(other) => panic!("expected corruption, got {other}"),
        Ok((_, recovery)) => panic!("expected corruption, recovered {recovery:?}"),
    }
}

#[test]
fn reopen_after_a_cut_at_every_byte_of_the_last_record() {
    let seed = seed("reopen_after_a_cut_at_every_byte_of_the_last_record");
    let (fs, records) = build(seed);
    let n = records.len();
    let last = segment_of(&fs, dir(), records[n - 1].0);
    let from = offset_in_segment(&last, records[n - 1].0);
    let full = fs.file_len(&last).unwrap();
    assert_eq!(full, from + frame_len(&records, n - 1));
    for len in from..full {
        let (fs, _) = build(seed);
        cut(&fs, &last, len);
        let (wal, recovery) = reopen(&fs).unwrap();
        let torn = len - from;
        let expected = Recovery {
            records: n as u64 - 1,
            end: records[n - 1].0,
            truncated_bytes: torn,
            truncated_segment: (torn > 0).then(|| last.clone()),
        };
        assert_eq!(recovery, expected, "cut at {len}");
        assert_eq!(
            fs.file_len(&last),
            Some(from),
            "cut at {len}: file repaired"
        );
        assert_eq!(read_all(&wal), records[..n - 1], "cut at {len}");
        // The repaired log takes appends and reopens clean.
        wal.append_durable(b"after repair").unwrap();
        drop(wal);
        let (wal, recovery) = reopen(&fs).unwrap();
        assert_eq!((recovery.records, recovery.truncated_bytes), (n as u64, 0));
        assert_eq!(wal.read(records[n - 1].0).unwrap().0, b"after repair");
    }
}

#[test]
fn bit_flips_in_every_byte_of_a_mid_log_record_are_corruption() {
    let seed = seed("bit_flips_in_every_byte_of_a_mid_log_record_are_corruption");
    let mut rng = rng(seed);
    let (_, records) = build(seed);
    let n = records.len();
    let (fs, _) = build(seed);
    let target = n - 3; // two valid records follow it in the last segment
    let path = segment_of(&fs, dir(), records[target].0);
    assert_eq!(path, segment_of(&fs, dir(), records[n - 1].0));
    let offset = offset_in_segment(&path, records[target].0);
    for at in offset..offset + frame_len(&records, target) {
        let (fs, _) = build(seed);
        let mask = 1u8 << rng.random_range(0..8);
        assert!(fs.corrupt(&path, at, mask));
        expect_corruption(&fs, &path, offset);
    }
}

#[test]
fn bit_flips_in_a_segment_that_is_not_the_last_are_corruption() {
    let seed = seed("bit_flips_in_a_segment_that_is_not_the_last_are_corruption");
    let (fs, records) = build(seed);
    let first = segments(&fs, dir())[0].clone();
    // The last record of the first segment: nothing valid follows it in its own file,
    // but it is not the log's tail, so it must not be mistaken for a torn write.
    let last_in_first = records
        .iter()
        .rposition(|(p, _)| segment_of(&fs, dir(), *p) == first)
        .unwrap();
    let offset = offset_in_segment(&first, records[last_in_first].0);
    assert!(fs.corrupt(&first, offset + 17, 0x04));
    expect_corruption(&fs, &first, offset);

    let (fs, _) = build(seed);
    assert!(fs.corrupt(&first, 3, 0x01));
    expect_corruption(&fs, &first, 0);
}

#[test]
fn a_bit_flip_in_the_last_record_truncates_it() {
    let seed = seed("a_bit_flip_in_the_last_record_truncates_it");
    let (_, records) = build(seed);
    let n = records.len();
    let (fs, _) = build(seed);
    let last = segment_of(&fs, dir(), records[n - 1].0);
    let offset = offset_in_segment(&last, records[n - 1].0);
    for at in offset..offset + frame_len(&records, n - 1) {
        let (fs, _) = build(seed);
        assert!(fs.corrupt(&last, at, 0x80));
        let (wal, recovery) = reopen(&fs).unwrap();
        assert_eq!(recovery.records, n as u64 - 1, "flip at {at}");
        assert_eq!(recovery.truncated_bytes, frame_len(&records, n - 1));
        assert_eq!(recovery.truncated_segment.as_ref(), Some(&last));
        assert_eq!(read_all(&wal), records[..n - 1]);
    }
}

#[test]
fn zero_filled_and_garbage_tails_are_truncated() {
    let seed = seed("zero_filled_and_garbage_tails_are_truncated");
    let mut rng = rng(seed);
    let garbage: Vec<u8> = (0..5000).map(|_| rng.random()).collect();
    for tail in [vec![0u8; 4096], garbage] {
        let (fs, records) = build(seed);
        let last = segments(&fs, dir()).pop().unwrap();
        append_raw(&fs, &last, &tail);
        let (wal, recovery) = reopen(&fs).unwrap();
        assert_eq!(recovery.truncated_bytes, tail.len() as u64);
        assert_eq!(recovery.records, records.len() as u64);
        assert_eq!(read_all(&wal), records);
    }
}

#[test]
fn a_copy_of_a_valid_record_after_garbage_is_still_corruption() {
    // A frame that is valid *and* sits at the position it names proves the garbage
    // before it is not a torn tail.
    let seed = seed("a_copy_of_a_valid_record_after_garbage_is_still_corruption");
    let (fs, _) = build(seed);
    let last = segments(&fs, dir()).pop().unwrap();
    let end = fs.file_len(&last).unwrap();
    let mut tail = vec![0xAAu8; 40];
    let position = segment::position_at(
        segment::parse_segment_file_name(last.file_name().unwrap().to_str().unwrap()).unwrap(),
        end + 40,
    );
    dougdb_storage::wal::frame::encode_frame(position, b"looks fine", &mut tail);
    append_raw(&fs, &last, &tail);
    expect_corruption(&fs, &last, end);
}

fn next_segment_path(fs: &FaultFs, records: &Records) -> (PathBuf, Position) {
    let (wal, _) = reopen(fs).unwrap();
    let end = wal.end_position();
    assert_eq!(
        end.0,
        records.last().unwrap().0.0 + frame_len(records, records.len() - 1)
    );
    (dir().join(segment::segment_file_name(end.0)), end)
}

#[test]
fn a_torn_header_of_a_new_last_segment_is_rewritten() {
    let seed = seed("a_torn_header_of_a_new_last_segment_is_rewritten");
    for header_len in [0usize, 1, 10, 31, 32] {
        let (fs, records) = build(seed);
        let (path, end) = next_segment_path(&fs, &records);
        let mut header = segment::encode_segment_header(end.0).to_vec();
        if header_len == 32 {
            header[20] ^= 0xFF; // full length, failing checksum
        }
        header.truncate(header_len);
        fs.create(&path).unwrap().append(&header).unwrap();
        fs.sync_dir(dir()).unwrap();
        let (wal, recovery) = reopen(&fs).unwrap();
        assert_eq!(
            recovery.records,
            records.len() as u64,
            "header of {header_len}"
        );
        assert_eq!(recovery.truncated_bytes, header_len as u64);
        assert_eq!(recovery.truncated_segment.as_ref(), Some(&path));
        assert_eq!(
            wal.append_durable(b"lands in the new segment").unwrap(),
            end
        );
        drop(wal);
        let (wal, recovery) = reopen(&fs).unwrap();
        assert_eq!(recovery.truncated_bytes, 0);
        assert_eq!(wal.read(end).unwrap().0, b"lands in the new segment");
    }
}

#[test]
fn a_missing_middle_segment_is_corruption() {
    let seed = seed("a_missing_middle_segment_is_corruption");
    let (fs, _) = build(seed);
    let paths = segments(&fs, dir());
    fs.remove_file(&paths[1]).unwrap();
    expect_corruption(&fs, &paths[2], 0);
}

#[test]
fn a_segment_whose_header_disagrees_with_its_name_is_corruption() {
    let seed = seed("a_segment_whose_header_disagrees_with_its_name_is_corruption");
    let (fs, _) = build(seed);
    let paths = segments(&fs, dir());
    for p in &paths[1..] {
        fs.remove_file(p).unwrap();
    }
    let moved = dir().join(segment::segment_file_name(7));
    fs.rename(&paths[0], &moved).unwrap();
    expect_corruption(&fs, &moved, 0);
}
