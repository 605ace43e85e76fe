//! SSTable iterator: whole-table order and seek semantics (before, after, between keys,
//! missing keys, snapshots, block boundaries).
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use dougdb_storage::lsm::InternalIterator;
use dougdb_storage::lsm::key::{self, SeqNo, ValueKind};
use dougdb_storage::lsm::sst::{BlockCache, TableOptions};
use sst_support::*;

/// Keys `k0010`, `k0020`, ..: gaps so seeks can land between them.
fn gapped(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (1..=n)
        .map(|i| {
            let k = key::encode(
                format!("k{:04}", i * 10).as_bytes(),
                SeqNo(5),
                ValueKind::Put,
            );
            (k, format!("v{i}").into_bytes())
        })
        .collect()
}

fn user_of(k: &[u8]) -> String {
    String::from_utf8(key::decode(k).unwrap().user_key.to_vec()).unwrap()
}

#[test]
fn sst_iterates_the_whole_table_in_order() {
    for opts in [TableOptions::default(), small_blocks()] {
        let entries = simple_entries(3000, 30);
        let (_fault, reader) = build_and_open(&entries, opts, None);
        let got = scan(&reader);
        assert_eq!(got, entries);
        assert!(
            got.windows(2)
                .all(|w| key::compare(&w[0].0, &w[1].0).is_lt())
        );
    }
}

#[test]
fn sst_seek_lands_on_first_key_at_or_after_the_target() {
    let entries = gapped(200);
    for opts in [TableOptions::default(), small_blocks()] {
        let (_fault, reader) = build_and_open(&entries, opts, Some(BlockCache::new(1 << 20)));
        let mut it = reader.iter();
        for probe in 0..=2100 {
            let target = key::seek_key(format!("k{probe:04}").as_bytes(), SeqNo(u64::MAX >> 8));
            it.seek(&target).unwrap();
            let want = entries
                .iter()
                .find(|(k, _)| key::compare(k, &target).is_ge());
            match want {
                Some((k, v)) => {
                    assert!(it.valid(), "probe {probe}");
                    assert_eq!((it.key(), it.value()), (&k[..], &v[..]), "probe {probe}");
                }
                None => assert!(!it.valid(), "probe {probe}"),
            }
        }
    }
}

#[test]
fn sst_seek_before_first_after_last_and_between() {
    let (_fault, reader) = build_and_open(&gapped(100), small_blocks(), None);
    let mut it = reader.iter();
    it.seek(&key::seek_key(b"a", SeqNo(9))).unwrap();
    assert_eq!(user_of(it.key()), "k0010", "before the first key");
    it.seek(&key::seek_key(b"k0015", SeqNo(9))).unwrap();
    assert_eq!(user_of(it.key()), "k0020", "between keys: the next one");
    it.seek(&key::seek_key(b"k0500", SeqNo(9))).unwrap();
    assert_eq!(user_of(it.key()), "k0500", "an existing key");
    it.seek(&key::seek_key(b"k1000", SeqNo(9))).unwrap();
    assert_eq!(user_of(it.key()), "k1000", "the last key");
    it.next().unwrap();
    assert!(!it.valid(), "next past the last key");
    it.seek(&key::seek_key(b"k1001", SeqNo(9))).unwrap();
    assert!(!it.valid(), "after the last key");
    it.seek(b"").unwrap();
    assert_eq!(
        user_of(it.key()),
        "k0010",
        "an empty (malformed) target sorts first"
    );
}

#[test]
fn sst_seek_respects_sequence_order_within_a_user_key() {
    let versions: Vec<Version> = [3u64, 7, 9]
        .iter()
        .flat_map(|&s| {
            [
                (b"a".to_vec(), s, ValueKind::Put, vec![]),
                (b"b".to_vec(), s, ValueKind::Put, vec![]),
            ]
        })
        .collect();
    let entries = sorted_entries(&versions);
    let (_fault, reader) = build_and_open(&entries, small_blocks(), None);
    let mut it = reader.iter();
    for (snapshot, want) in [
        (10, ("a", 9)),
        (9, ("a", 9)),
        (8, ("a", 7)),
        (3, ("a", 3)),
        (2, ("b", 9)),
    ] {
        it.seek(&key::seek_key(b"a", SeqNo(snapshot))).unwrap();
        let p = key::decode(it.key()).unwrap();
        assert_eq!(
            (p.user_key, p.seq.0),
            (want.0.as_bytes(), want.1),
            "snapshot {snapshot}"
        );
    }
}

#[test]
fn sst_seek_then_next_crosses_block_boundaries() {
    let entries = gapped(500);
    let opts = TableOptions {
        block_size_bytes: 64,
        ..small_blocks()
    };
    let (_fault, reader) = build_and_open(&entries, opts, None);
    let mut it = reader.iter();
    for start in [0usize, 1, 17, 250, 498] {
        it.seek(&entries[start].0).unwrap();
        for (k, _) in &entries[start..] {
            assert_eq!(it.key(), &k[..]);
            it.next().unwrap();
        }
        assert!(!it.valid());
        // next on an exhausted cursor stays exhausted.
        it.next().unwrap();
        assert!(!it.valid());
    }
}

#[test]
fn sst_iterator_outlives_the_readers_handle_and_moves_across_threads() {
    let entries = simple_entries(1000, 10);
    let (_fault, reader) = build_and_open(&entries, small_blocks(), None);
    let mut it = reader.iter();
    drop(reader);
    let count = std::thread::spawn(move || {
        it.seek_to_first().unwrap();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next().unwrap();
        }
        n
    })
    .join()
    .unwrap();
    assert_eq!(count, 1000);
}

#[test]
fn sst_unpositioned_iterator_is_invalid() {
    let (_fault, reader) = build_and_open(&gapped(3), small_blocks(), None);
    let mut it = reader.iter();
    assert!(!it.valid());
    assert!(it.key().is_empty() && it.value().is_empty());
    it.next().unwrap();
    assert!(!it.valid());
}
