//! SSTable build + read round trips: sizes, empty values, tombstones, versions, snapshots.
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use std::sync::Arc;

use dougdb_storage::Error;
use dougdb_storage::fs;
use dougdb_storage::lsm::TableId;
use dougdb_storage::lsm::key::{self, SeqNo, ValueKind};
use dougdb_storage::lsm::sst::{BlockCache, SstBuilder, SstReader, TableOptions};
use rand::Rng;
use sst_support::*;

#[test]
fn sst_round_trip_many_sizes_and_layouts() {
    let layouts = [
        TableOptions::default(),
        small_blocks(),
        TableOptions {
            block_size_bytes: 1,
            bloom_bits_per_key: 0,
            restart_interval: 1,
        },
    ];
    for n in [0usize, 1, 2, 15, 16, 17, 100, 1000, 5000] {
        for opts in layouts {
            let entries = simple_entries(n, 100);
            let (_fault, reader) = build_and_open(&entries, opts, None);
            for (k, v) in &entries {
                let p = key::decode(k).unwrap();
                let got = reader.get(p.user_key, SeqNo(u64::MAX)).unwrap();
                assert_eq!(got, Some((p.seq, p.kind, v.clone())), "n={n} {opts:?}");
            }
            assert_eq!(scan(&reader), entries, "n={n} {opts:?}");
            assert_eq!(reader.info().entries, n as u64);
        }
    }
}

#[test]
fn sst_empty_values_and_tombstones_round_trip() {
    let versions: Vec<Version> = (0..300u64)
        .map(|i| {
            let kind = if i % 3 == 0 {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            let value = if i % 2 == 0 {
                Vec::new()
            } else {
                vec![b'v'; 10]
            };
            let value = if kind == ValueKind::Delete {
                Vec::new()
            } else {
                value
            };
            (format!("k{i:04}").into_bytes(), i + 1, kind, value)
        })
        .collect();
    let entries = sorted_entries(&versions);
    let (_fault, reader) = build_and_open(&entries, small_blocks(), None);
    for (u, s, kind, v) in &versions {
        let got = reader.get(u, SeqNo(1000)).unwrap();
        assert_eq!(got, Some((SeqNo(*s), *kind, v.clone())));
    }
    assert_eq!(reader.info().tombstones, 100);
    assert_eq!(scan(&reader), entries);
}

#[test]
fn sst_multiple_versions_are_resolved_by_snapshot() {
    // Key i has versions at seqs 10, 20, .. with a tombstone at 30 for even keys.
    let mut versions = Vec::new();
    for i in 0..200u64 {
        let user = format!("user{i:05}").into_bytes();
        for s in [10u64, 20, 30, 40] {
            let kind = if s == 30 && i % 2 == 0 {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            let value = if kind == ValueKind::Put {
                format!("{i}@{s}").into_bytes()
            } else {
                vec![]
            };
            versions.push((user.clone(), s, kind, value));
        }
    }
    let entries = sorted_entries(&versions);
    for opts in [TableOptions::default(), small_blocks()] {
        let (_fault, reader) = build_and_open(&entries, opts, Some(BlockCache::new(1 << 20)));
        for i in 0..200u64 {
            let user = format!("user{i:05}").into_bytes();
            for snapshot in [0u64, 5, 10, 15, 20, 29, 30, 35, 40, 1 << 60, u64::MAX] {
                let want = model_get(&entries, &user, snapshot);
                assert_eq!(
                    reader.get(&user, SeqNo(snapshot)).unwrap(),
                    want,
                    "{i}@{snapshot}"
                );
            }
        }
        let info = reader.info();
        assert_eq!((info.smallest_seq, info.largest_seq), (10, 40));
        assert_eq!(info.entries, 800);
        assert_eq!(info.tombstones, 100);
    }
}

#[test]
fn sst_missing_keys_are_absent() {
    let entries = simple_entries(500, 20);
    let (_fault, reader) = build_and_open(&entries, small_blocks(), None);
    for probe in [
        "",
        "a",
        "key",
        "key000000x",
        "key0004995",
        "key000500",
        "zzz",
    ] {
        assert_eq!(
            reader.get(probe.as_bytes(), SeqNo(u64::MAX)).unwrap(),
            None,
            "{probe}"
        );
    }
    // Present, but only at a later sequence number than the snapshot.
    assert_eq!(reader.get(b"key000010", SeqNo(10)).unwrap(), None);
    assert!(reader.get(b"key000010", SeqNo(11)).unwrap().is_some());
}

#[test]
fn sst_random_tables_match_the_model() {
    let mut rng = rng("random_tables_match_the_model");
    for round in 0..20 {
        let n = rng.random_range(0..2000);
        let versions: Vec<Version> = (0..n)
            .map(|_| {
                let len = rng.random_range(0..12);
                let user: Vec<u8> = (0..len).map(|_| rng.random_range(b'a'..b'e')).collect();
                let seq = rng.random_range(0..50);
                let kind = if rng.random_bool(0.2) {
                    ValueKind::Delete
                } else {
                    ValueKind::Put
                };
                let vlen = rng.random_range(0..300);
                let value = (0..vlen).map(|_| rng.random()).collect();
                (user, seq, kind, value)
            })
            .collect();
        let entries = sorted_entries(&versions);
        let opts = TableOptions {
            block_size_bytes: rng.random_range(1..8192),
            bloom_bits_per_key: rng.random_range(0..20),
            restart_interval: rng.random_range(1..40),
        };
        let (_fault, reader) = build_and_open(&entries, opts, Some(BlockCache::new(1 << 16)));
        assert_eq!(scan(&reader), entries, "round {round}");
        for (u, _, _, _) in versions.iter().take(200) {
            for snapshot in [0, 10, 25, 49, u64::MAX] {
                assert_eq!(
                    reader.get(u, SeqNo(snapshot)).unwrap(),
                    model_get(&entries, u, snapshot),
                    "round {round}"
                );
            }
        }
    }
}

#[test]
fn sst_table_info_is_recovered_from_the_file() {
    let entries = simple_entries(1234, 50);
    let (fault, fs) = fault_fs();
    let path = table_path(7);
    let built = build(&fs, &path, &entries, TableOptions::default());
    let reader = SstReader::open(fs, &path, TableId(7), None).unwrap();
    assert_eq!(reader.info(), &built);
    assert_eq!(built.size_bytes, fault.file_len(&path).unwrap());
    assert_eq!(built.smallest_key, entries[0].0);
    assert_eq!(built.largest_key, entries[1233].0);
    assert_eq!((built.smallest_seq, built.largest_seq), (1, 1234));
    assert_eq!(reader.id(), TableId(7));
    assert_eq!(reader.path(), path.as_path());
}

#[test]
fn sst_empty_table_round_trips() {
    let (_fault, reader) = build_and_open(&[], TableOptions::default(), None);
    assert_eq!(reader.info().entries, 0);
    assert!(reader.info().smallest_key.is_empty());
    assert_eq!(reader.get(b"k", SeqNo(1)).unwrap(), None);
    assert!(!reader.may_contain(b"k"));
    assert!(scan(&reader).is_empty());
}

#[test]
fn sst_round_trip_on_the_real_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let fs = fs::real();
    let path = dir.path().join("000001.sst");
    let entries = simple_entries(3000, 100);
    let info = build(&fs, &path, &entries, TableOptions::default());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), info.size_bytes);
    let reader = SstReader::open(fs, &path, TableId(1), Some(BlockCache::new(1 << 20))).unwrap();
    assert_eq!(scan(&reader), entries);
    let p = key::decode(&entries[1500].0).unwrap();
    assert_eq!(
        reader.get(p.user_key, SeqNo(u64::MAX)).unwrap().unwrap().2,
        entries[1500].1
    );
}

#[test]
fn sst_estimated_size_tracks_the_final_size() {
    let (_fault, fs) = fault_fs();
    let mut b = SstBuilder::new(Arc::clone(&fs), &table_path(1), TableOptions::default()).unwrap();
    for (k, v) in simple_entries(10_000, 100) {
        b.add(&k, &v).unwrap();
    }
    let estimate = b.estimated_size_bytes();
    let actual = b.finish().unwrap().size_bytes;
    assert!(
        estimate.abs_diff(actual) < actual / 20,
        "estimate {estimate}, actual {actual}"
    );
}

#[test]
#[should_panic(expected = "out of order")]
fn sst_out_of_order_keys_panic() {
    let (_fault, fs) = fault_fs();
    let mut b = SstBuilder::new(fs, &table_path(1), TableOptions::default()).unwrap();
    b.add(&key::encode(b"b", SeqNo(1), ValueKind::Put), b"")
        .unwrap();
    b.add(&key::encode(b"a", SeqNo(1), ValueKind::Put), b"")
        .unwrap();
}

#[test]
#[should_panic(expected = "out of order")]
fn sst_duplicate_keys_panic() {
    let (_fault, fs) = fault_fs();
    let mut b = SstBuilder::new(fs, &table_path(1), TableOptions::default()).unwrap();
    let k = key::encode(b"a", SeqNo(1), ValueKind::Put);
    b.add(&k, b"").unwrap();
    b.add(&k, b"").unwrap();
}

#[test]
fn sst_bad_options_and_oversized_keys_are_invalid_arguments() {
    let (_fault, fs) = fault_fs();
    for opts in [
        TableOptions {
            block_size_bytes: 0,
            ..TableOptions::default()
        },
        TableOptions {
            restart_interval: 0,
            ..TableOptions::default()
        },
        TableOptions {
            bloom_bits_per_key: 1000,
            ..TableOptions::default()
        },
    ] {
        let r = SstBuilder::new(Arc::clone(&fs), &table_path(1), opts);
        assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{opts:?}");
    }
    let mut b = SstBuilder::new(Arc::clone(&fs), &table_path(2), TableOptions::default()).unwrap();
    let huge = key::encode(&vec![b'k'; 70_000], SeqNo(1), ValueKind::Put);
    assert!(matches!(
        b.add(&huge, b""),
        Err(Error::InvalidArgument { .. })
    ));
    // The refused entry left the builder usable.
    b.add(&key::encode(b"k", SeqNo(1), ValueKind::Put), b"v")
        .unwrap();
    assert_eq!(b.finish().unwrap().entries, 1);
    assert!(fs.exists(&table_path(2)));
}
