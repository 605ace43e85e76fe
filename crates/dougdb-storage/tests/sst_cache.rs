//! Block cache: repeated reads hit, capacity holds, readers of different tables share
//! one cache without mixing blocks up, concurrent readers agree.
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use std::sync::Arc;

use dougdb_storage::lsm::key::{self, SeqNo};
use dougdb_storage::lsm::sst::{BlockCache, SstReader, TableOptions};
use dougdb_storage::lsm::{InternalIterator, TableId};
use sst_support::*;

#[test]
fn sst_second_get_of_a_block_is_a_cache_hit() {
    let cache = BlockCache::new(1 << 20);
    let entries = simple_entries(2000, 100);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    let user = key::decode(&entries[777].0).unwrap().user_key.to_vec();
    reader.get(&user, SeqNo(u64::MAX)).unwrap().unwrap();
    assert_eq!(cache.stats(), (0, 1));
    for _ in 0..10 {
        reader.get(&user, SeqNo(u64::MAX)).unwrap().unwrap();
    }
    assert_eq!(cache.stats(), (10, 1));
    // A neighbour in the same block hits too.
    let near = key::decode(&entries[778].0).unwrap().user_key.to_vec();
    reader.get(&near, SeqNo(u64::MAX)).unwrap().unwrap();
    let (hits, misses) = cache.stats();
    assert_eq!(hits + misses, 12);
    assert!(misses <= 2);
}

#[test]
fn sst_a_scan_fills_the_cache_and_a_second_scan_only_hits() {
    let cache = BlockCache::new(16 << 20);
    let entries = simple_entries(3000, 100);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    scan(&reader);
    let (_, misses) = cache.stats();
    assert!(misses > 50, "a 300 KB table has many 4 KB blocks: {misses}");
    assert_eq!(scan(&reader), entries);
    assert_eq!(cache.stats().1, misses, "second scan missed");
}

#[test]
fn sst_compaction_scan_uses_but_does_not_fill_the_cache() {
    let cache = BlockCache::new(16 << 20);
    let entries = simple_entries(2000, 100);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    let user = key::decode(&entries[0].0).unwrap().user_key.to_vec();
    reader.get(&user, SeqNo(u64::MAX)).unwrap().unwrap();
    assert_eq!(cache.len(), 1);
    let mut it = reader.iter_without_caching();
    it.seek_to_first().unwrap();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next().unwrap();
    }
    assert_eq!(n, entries.len());
    assert_eq!(cache.len(), 1, "the scan filled the cache");
    assert!(
        cache.stats().0 >= 1,
        "the scan did not use the cached first block"
    );
}

#[test]
fn sst_cache_stays_within_capacity() {
    let cache = BlockCache::new(64 * 1024);
    let entries = simple_entries(5000, 100);
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    scan(&reader);
    assert!(cache.usage_bytes() <= 64 * 1024);
    assert!(!cache.is_empty());
    // Reads are still right once blocks are evicted.
    assert_eq!(scan(&reader), entries);
}

#[test]
fn sst_tables_sharing_a_cache_do_not_mix_blocks() {
    let cache = BlockCache::new(1 << 20);
    let (_fault, fs) = fault_fs();
    let a: Vec<_> = simple_entries(500, 8)
        .into_iter()
        .map(|(k, _)| (k, b"from-a".to_vec()))
        .collect();
    let b: Vec<_> = simple_entries(500, 8)
        .into_iter()
        .map(|(k, _)| (k, b"from-b".to_vec()))
        .collect();
    build(&fs, &table_path(1), &a, TableOptions::default());
    build(&fs, &table_path(2), &b, TableOptions::default());
    let ra = SstReader::open(
        Arc::clone(&fs),
        &table_path(1),
        TableId(1),
        Some(cache.clone()),
    )
    .unwrap();
    let rb = SstReader::open(
        Arc::clone(&fs),
        &table_path(2),
        TableId(2),
        Some(cache.clone()),
    )
    .unwrap();
    for i in 0..500 {
        let user = format!("key{i:06}");
        assert_eq!(
            ra.get(user.as_bytes(), SeqNo(u64::MAX)).unwrap().unwrap().2,
            b"from-a"
        );
        assert_eq!(
            rb.get(user.as_bytes(), SeqNo(u64::MAX)).unwrap().unwrap().2,
            b"from-b"
        );
    }
}

#[test]
fn sst_concurrent_readers_agree_with_the_model() {
    let cache = BlockCache::new(256 * 1024);
    let entries = Arc::new(simple_entries(5000, 100));
    let (_fault, reader) = build_and_open(&entries, TableOptions::default(), Some(cache.clone()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let reader = Arc::clone(&reader);
            let entries = Arc::clone(&entries);
            std::thread::spawn(move || {
                for i in (t..5000).step_by(3) {
                    let p = key::decode(&entries[i].0).unwrap();
                    let got = reader.get(p.user_key, SeqNo(u64::MAX)).unwrap().unwrap();
                    assert_eq!(got.2, entries[i].1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (hits, misses) = cache.stats();
    assert!(hits > misses, "hits {hits} misses {misses}");
}

fn _reader_is_send_sync(r: SstReader) -> impl Send + Sync {
    r
}
