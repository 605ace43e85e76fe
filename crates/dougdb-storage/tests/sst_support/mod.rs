//! Shared helpers for the SSTable integration tests: seeds, a reference model, and
//! table construction over `FaultFs`.
// Test helpers: a failed setup step should abort the test loudly, so unwrap is right here;
// not every test binary uses every helper.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_storage::fs::{FaultFs, FileSystem, SharedFs};
use dougdb_storage::lsm::TableId;
use dougdb_storage::lsm::key::{self, SeqNo, ValueKind};
use dougdb_storage::lsm::sst::{BlockCache, SstBuilder, SstReader, TableInfo, TableOptions};
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The seed for a randomised test: `DOUGDB_SEED` if set, else fresh; always printed so a
/// failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("DOUGDB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    println!("{test}: seed = {seed} (replay with DOUGDB_SEED={seed})");
    seed
}

/// A seeded generator for `test`.
pub fn rng(test: &str) -> StdRng {
    StdRng::seed_from_u64(seed(test))
}

/// A proptest configuration with a printed, replayable seed.
pub fn proptest_config(test: &str, cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed(test)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One stored version: `(user key, seq, kind, value)`.
pub type Version = (Vec<u8>, u64, ValueKind, Vec<u8>);

/// Encoded, sorted entries for a set of versions (deduplicated on `(user key, seq)`).
pub fn sorted_entries(versions: &[Version]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut by_key: BTreeMap<(Vec<u8>, u64), (ValueKind, Vec<u8>)> = BTreeMap::new();
    for (u, s, k, v) in versions {
        by_key.insert((u.clone(), *s), (*k, v.clone()));
    }
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = by_key
        .into_iter()
        .map(|((u, s), (k, v))| (key::encode(&u, SeqNo(s), k), v))
        .collect();
    out.sort_by(|a, b| key::compare(&a.0, &b.0));
    out
}

/// What `get(user, snapshot)` must answer for `entries`.
pub fn model_get(
    entries: &[(Vec<u8>, Vec<u8>)],
    user: &[u8],
    snapshot: u64,
) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
    entries.iter().find_map(|(k, v)| {
        let p = key::decode(k)?;
        (p.user_key == user && p.seq.0 <= snapshot).then(|| (p.seq, p.kind, v.clone()))
    })
}

/// A fresh in-memory disk with the directory `/db`.
pub fn fault_fs() -> (FaultFs, SharedFs) {
    let fault = FaultFs::new();
    fault.create_dir_all(Path::new("/db")).unwrap();
    let shared: SharedFs = Arc::new(fault.clone());
    (fault, shared)
}

/// Path of table `n` under `/db`.
pub fn table_path(n: u64) -> PathBuf {
    PathBuf::from(format!("/db/{n:06}.sst"))
}

/// Builds a table from sorted entries.
pub fn build(
    fs: &SharedFs,
    path: &Path,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: TableOptions,
) -> TableInfo {
    let mut b = SstBuilder::new(Arc::clone(fs), path, opts).unwrap();
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    assert_eq!(b.entries(), entries.len() as u64);
    b.finish().unwrap()
}

/// Builds and opens a table in a fresh `FaultFs`.
pub fn build_and_open(
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: TableOptions,
    cache: Option<Arc<BlockCache>>,
) -> (FaultFs, Arc<SstReader>) {
    let (fault, fs) = fault_fs();
    let path = table_path(1);
    build(&fs, &path, entries, opts);
    let reader = SstReader::open(fs, &path, TableId(1), cache).unwrap();
    (fault, reader)
}

/// `n` distinct user keys `key000000`.. with one Put each at seq `i + 1`.
pub fn simple_entries(n: usize, value_len: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let k = key::encode(
                format!("key{i:06}").as_bytes(),
                SeqNo(i as u64 + 1),
                ValueKind::Put,
            );
            let v = vec![(i % 251) as u8; value_len];
            (k, v)
        })
        .collect()
}

/// Small blocks so even small tables span many of them.
pub fn small_blocks() -> TableOptions {
    TableOptions {
        block_size_bytes: 256,
        bloom_bits_per_key: 10,
        restart_interval: 4,
    }
}

/// Every entry of the table through its iterator.
pub fn scan(reader: &Arc<SstReader>) -> Vec<(Vec<u8>, Vec<u8>)> {
    use dougdb_storage::lsm::InternalIterator;
    let mut it = reader.iter();
    it.seek_to_first().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next().unwrap();
    }
    out
}
