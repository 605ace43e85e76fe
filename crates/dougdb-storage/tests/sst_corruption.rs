//! SSTable corruption: a flipped bit in any block kind, a truncated file or a forged
//! footer gives `Corruption` naming the table file (and the block's offset), never a
//! wrong value and never a panic.
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use std::path::Path;
use std::sync::Arc;

use dougdb_storage::Error;
use dougdb_storage::fs::{self, FaultFs, SharedFs};
use dougdb_storage::lsm::key::{self, SeqNo};
use dougdb_storage::lsm::sst::footer::Footer;
use dougdb_storage::lsm::sst::format::BlockHandle;
use dougdb_storage::lsm::sst::index::Index;
use dougdb_storage::lsm::sst::{BlockCache, SstReader, TableOptions};
use dougdb_storage::lsm::{InternalIterator, TableId};
use sst_support::*;

/// The table's footer and data block handles, read with the public decoders.
fn layout(fs: &SharedFs, path: &Path) -> (Footer, u64, Vec<BlockHandle>) {
    let bytes = fs.read_all(path).unwrap();
    let footer_at = bytes.len() - Footer::ENCODED_LEN;
    let footer = Footer::decode(&bytes[footer_at..]).unwrap();
    let ix = footer.index;
    let body = bytes[ix.offset as usize..ix.offset as usize + ix.len as usize].to_vec();
    let index = Index::decode(body).unwrap();
    let handles = (0..index.len()).map(|i| index.handle(i).unwrap()).collect();
    (footer, footer_at as u64, handles)
}

/// Asserts `e` is `Corruption` in `path` (at `offset` when given).
fn assert_corruption(e: &Error, path: &Path, offset: Option<u64>) {
    match e {
        Error::Corruption {
            file, offset: at, ..
        } => {
            assert_eq!(file, path, "{e}");
            if let Some(want) = offset {
                assert_eq!(*at, want, "{e}");
            }
        }
        other => panic!("expected Corruption in {}, got {other}", path.display()),
    }
}

/// Reads everything through `get` and a scan; every answer must be the model's or a
/// `Corruption` naming the file. Returns whether any corruption was reported.
fn read_all_checked(reader: &Arc<SstReader>, entries: &[(Vec<u8>, Vec<u8>)], path: &Path) -> bool {
    let mut detected = false;
    for (k, _) in entries {
        let user = key::decode(k).unwrap().user_key;
        match reader.get(user, SeqNo(u64::MAX)) {
            Ok(got) => assert_eq!(got, model_get(entries, user, u64::MAX), "wrong value"),
            Err(e) => {
                assert_corruption(&e, path, None);
                detected = true;
            }
        }
    }
    let mut it = reader.iter();
    let mut i = 0;
    let mut step = it.seek_to_first();
    loop {
        match step {
            Err(e) => {
                assert_corruption(&e, path, None);
                assert!(!it.valid());
                return true;
            }
            Ok(()) if !it.valid() => break,
            Ok(()) => {
                assert_eq!(
                    (it.key(), it.value()),
                    (&entries[i].0[..], &entries[i].1[..])
                );
                i += 1;
                step = it.next();
            }
        }
    }
    assert_eq!(i, entries.len());
    detected
}

#[test]
fn sst_flipped_bit_in_a_data_block_is_corruption_at_that_block() {
    let entries = simple_entries(400, 20);
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, &entries, small_blocks());
    let (_, _, handles) = layout(&fs, &path);
    let victim = handles[5];
    for (what, at) in [
        ("body", victim.offset + u64::from(victim.len) / 2),
        ("restart array", victim.offset + u64::from(victim.len) - 6),
        ("trailer kind", victim.offset + u64::from(victim.len)),
        ("trailer crc", victim.offset + u64::from(victim.len) + 3),
    ] {
        assert!(fault.corrupt(&path, at, 0x10));
        let reader = SstReader::open(
            Arc::clone(&fs),
            &path,
            TableId(1),
            Some(BlockCache::new(1 << 20)),
        )
        .unwrap();
        // Keys of the damaged block fail with its offset; others still read correctly.
        let mut failed = 0;
        for (k, v) in &entries {
            let user = key::decode(k).unwrap().user_key;
            match reader.get(user, SeqNo(u64::MAX)) {
                Ok(got) => assert_eq!(got.unwrap().2, *v, "{what}"),
                Err(e) => {
                    assert_corruption(&e, &path, Some(victim.offset));
                    failed += 1;
                }
            }
        }
        assert!(failed > 0, "{what}: nothing detected");
        assert!(failed < entries.len() / 4, "{what}: {failed} keys failed");
        assert!(read_all_checked(&reader, &entries, &path), "{what}");
        assert!(fault.corrupt(&path, at, 0x10), "undo");
    }
}

#[test]
fn sst_flipped_bit_in_each_meta_block_fails_open_naming_the_file() {
    let entries = simple_entries(300, 20);
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, &entries, small_blocks());
    let (footer, footer_at, _) = layout(&fs, &path);
    let mid = |h: BlockHandle| h.offset + u64::from(h.len) / 2;
    let trailer = |h: BlockHandle| h.offset + u64::from(h.len) + 1;
    let cases = [
        ("filter", mid(footer.filter), footer.filter.offset),
        (
            "filter trailer",
            trailer(footer.filter),
            footer.filter.offset,
        ),
        (
            "properties",
            mid(footer.properties),
            footer.properties.offset,
        ),
        (
            "properties trailer",
            trailer(footer.properties),
            footer.properties.offset,
        ),
        ("index", mid(footer.index), footer.index.offset),
        ("index trailer", trailer(footer.index), footer.index.offset),
        ("footer handle", footer_at + 3, footer_at),
        ("footer version", footer_at + 36, footer_at),
        ("footer crc", footer_at + 41, footer_at),
        ("footer magic", footer_at + 50, footer_at),
    ];
    for (what, at, block_offset) in cases {
        assert!(fault.corrupt(&path, at, 0x04));
        let e = SstReader::open(Arc::clone(&fs), &path, TableId(1), None).unwrap_err();
        assert_corruption(&e, &path, Some(block_offset));
        println!("{what}: {e}");
        assert!(fault.corrupt(&path, at, 0x04));
    }
    SstReader::open(fs, &path, TableId(1), None).expect("undone flips leave a good table");
}

#[test]
fn sst_every_bit_flip_is_detected_and_never_yields_a_wrong_value() {
    let entries = simple_entries(24, 6);
    let opts = TableOptions {
        block_size_bytes: 128,
        bloom_bits_per_key: 10,
        restart_interval: 3,
    };
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, &entries, opts);
    let len = fault.file_len(&path).unwrap();
    for at in 0..len {
        for bit in 0..8 {
            let mask = 1u8 << bit;
            assert!(fault.corrupt(&path, at, mask));
            match SstReader::open(Arc::clone(&fs), &path, TableId(1), None) {
                Err(e) => assert_corruption(&e, &path, None),
                Ok(reader) => assert!(
                    read_all_checked(&reader, &entries, &path),
                    "flip at byte {at} bit {bit} went unnoticed"
                ),
            }
            assert!(fault.corrupt(&path, at, mask));
        }
    }
}

/// Writes `bytes` as a fresh file at `path`.
fn write_file(fault: &FaultFs, path: &Path, bytes: &[u8]) {
    use dougdb_storage::fs::FileSystem;
    let f = fault.create(path).unwrap();
    f.append(bytes).unwrap();
    f.sync().unwrap();
}

#[test]
fn sst_truncated_file_is_corruption_at_every_length() {
    let entries = simple_entries(60, 10);
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, &entries, small_blocks());
    let bytes = fs.read_all(&path).unwrap();
    let cut_path = table_path(2);
    for cut in 0..bytes.len() {
        write_file(&fault, &cut_path, &bytes[..cut]);
        let e = SstReader::open(Arc::clone(&fs), &cut_path, TableId(2), None).unwrap_err();
        assert_corruption(&e, &cut_path, None);
    }
}

#[test]
fn sst_forged_footer_pointing_past_the_file_is_corruption() {
    let entries = simple_entries(50, 10);
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, &entries, small_blocks());
    let mut bytes = fs.read_all(&path).unwrap();
    let footer_at = bytes.len() - Footer::ENCODED_LEN;
    let real = Footer::decode(&bytes[footer_at..]).unwrap();
    let forged = [
        Footer {
            index: BlockHandle {
                offset: real.index.offset,
                len: u32::MAX,
            },
            ..real
        },
        Footer {
            filter: BlockHandle {
                offset: u64::MAX - 3,
                len: 9,
            },
            ..real
        },
        Footer {
            properties: BlockHandle { offset: 0, len: 10 },
            ..real
        },
    ];
    for f in forged {
        bytes.truncate(footer_at);
        bytes.extend_from_slice(&f.encode());
        write_file(&fault, &path, &bytes);
        let e = SstReader::open(Arc::clone(&fs), &path, TableId(1), None).unwrap_err();
        assert_corruption(&e, &path, Some(footer_at as u64));
    }
}

#[test]
fn sst_bit_rot_in_a_real_file_is_corruption_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let real = fs::real();
    let path = dir.path().join("000009.sst");
    let entries = simple_entries(2000, 100);
    build(&real, &path, &entries, TableOptions::default());
    let (_, _, handles) = layout(&real, &path);
    let mut bytes = std::fs::read(&path).unwrap();
    let victim = handles[handles.len() / 2];
    bytes[victim.offset as usize + 100] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let reader = SstReader::open(real, &path, TableId(9), None).unwrap();
    assert!(read_all_checked(&reader, &entries, &path));
}
