//! Helpers shared by the LSM integration tests: small-sized options over a `FaultFs`,
//! a seeded generator, and a model comparison.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dougdb_storage::fs::{FaultFs, SharedFs};
use dougdb_storage::lsm::sst::TableOptions;
use dougdb_storage::lsm::{Db, Options, SyncMode};
use dougdb_storage::wal::WalOptions;

/// The database directory used on in-memory file systems.
pub fn dir() -> PathBuf {
    PathBuf::from("/db")
}

/// Options that make flushes and compactions happen after a few hundred writes.
pub fn small_options(fs: &FaultFs) -> Options {
    Options {
        fs: Arc::new(fs.clone()) as SharedFs,
        sync: SyncMode::None,
        wal_options: WalOptions {
            segment_size_bytes: 16 << 10,
            ..WalOptions::default()
        },
        memtable_size_bytes: 8 << 10,
        max_immutable_memtables: 4,
        table: TableOptions {
            block_size_bytes: 512,
            ..TableOptions::default()
        },
        table_size_target_bytes: 8 << 10,
        block_cache_bytes: 1 << 20,
        level0_stop_writes: 64,
        write_stall_timeout: Duration::from_secs(30),
        compaction_policy: Arc::new(dougdb_storage::lsm::LeveledPolicy {
            level1_target_bytes: 32 << 10,
            ..Default::default()
        }),
        ..Options::default()
    }
}

/// The seed of a randomised test: `DOUGDB_SEED` if set, else `default`. Printed so a
/// failure can be replayed.
pub fn seed(default: u64) -> u64 {
    let seed = std::env::var("DOUGDB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("seed = {seed} (replay with DOUGDB_SEED={seed})");
    seed
}

/// A tiny seeded generator (splitmix64), so workloads replay exactly.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn key(i: u64) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

pub fn value(i: u64, version: u64) -> Vec<u8> {
    format!("value-{i}-{version}-{}", "x".repeat((i % 50) as usize)).into_bytes()
}

/// Asserts `db` holds exactly `model`, by point gets and by a full scan.
pub fn assert_matches(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>, keys: u64) {
    for i in 0..keys {
        let k = key(i);
        assert_eq!(
            db.get(&k).unwrap(),
            model.get(&k).cloned(),
            "get {}",
            String::from_utf8_lossy(&k)
        );
    }
    let scanned: Vec<(Vec<u8>, Vec<u8>)> = db.scan(..).unwrap().map(|r| r.unwrap()).collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(scanned.len(), want.len(), "scan length");
    assert!(scanned == want, "scan differs from the model");
}
