//! Options of a [`super::Db`] and its write durability mode.

use std::sync::Arc;
use std::time::Duration;

use super::compaction::LeveledPolicy;
use super::policy::CompactionPolicy;
use super::sst::TableOptions;
use crate::error::{Error, Result};
use crate::fs::{self, SharedFs};
use crate::wal::WalOptions;

/// When a write is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Each write fsyncs the WAL before it returns (writes are serialised with their
    /// fsync).
    Every,
    /// Concurrent writers share fsyncs; each write is durable when it returns, and is
    /// visible to readers only once durable.
    #[default]
    GroupCommit,
    /// No fsync per write: each write is handed to the OS before it returns (it survives a
    /// crash of the process, like RocksDB's `sync=false`), and is durable against a power
    /// cut at the next flush, explicit `sync`, or clean close.
    None,
}

/// Configuration of a database.
#[derive(Clone)]
pub struct Options {
    /// The file system (real by default; `FaultFs` in crash tests).
    pub fs: SharedFs,
    /// true: the database keeps its own WAL; false: the caller (Raft) is the WAL and
    /// passes applied indexes with its writes, unflushed writes are lost at a crash.
    pub wal: bool,
    /// Durability of each write when `wal` is true.
    pub sync: SyncMode,
    /// WAL segment sizing.
    pub wal_options: WalOptions,
    /// A memtable is switched to immutable and flushed once it charges this much memory.
    pub memtable_size_bytes: u64,
    /// Writes stall while this many immutable memtables wait for flush.
    pub max_immutable_memtables: usize,
    /// SSTable block size, bloom filter and restart interval.
    pub table: TableOptions,
    /// Compactions cut output tables near this size.
    pub table_size_target_bytes: u64,
    /// Block cache capacity (0 disables the cache).
    pub block_cache_bytes: u64,
    /// Longest accepted key.
    pub key_size_max_bytes: usize,
    /// Longest accepted value.
    pub value_size_max_bytes: usize,
    /// Decides what to compact; validated by the engine, which falls back to leveled.
    pub compaction_policy: Arc<dyn CompactionPolicy>,
    /// Writes stall while level 0 holds this many tables.
    pub level0_stop_writes: usize,
    /// Longest a write waits in a stall before it fails (never blocks forever).
    pub write_stall_timeout: Duration,
    /// Run compactions in the background (false: only `compact_all` compacts; tests).
    pub background_compaction: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("fs", &self.fs)
            .field("wal", &self.wal)
            .field("sync", &self.sync)
            .field("memtable_size_bytes", &self.memtable_size_bytes)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("table", &self.table)
            .field("table_size_target_bytes", &self.table_size_target_bytes)
            .field("block_cache_bytes", &self.block_cache_bytes)
            .field("key_size_max_bytes", &self.key_size_max_bytes)
            .field("value_size_max_bytes", &self.value_size_max_bytes)
            .field("compaction_policy", &self.compaction_policy.name())
            .field("level0_stop_writes", &self.level0_stop_writes)
            .field("write_stall_timeout", &self.write_stall_timeout)
            .field("background_compaction", &self.background_compaction)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fs: fs::real(),
            wal: true,
            sync: SyncMode::default(),
            wal_options: WalOptions::default(),
            memtable_size_bytes: 64 << 20,
            max_immutable_memtables: 2,
            table: TableOptions::default(),
            table_size_target_bytes: 64 << 20,
            block_cache_bytes: 64 << 20,
            key_size_max_bytes: 4096,
            value_size_max_bytes: 1 << 20,
            compaction_policy: Arc::new(LeveledPolicy::default()),
            level0_stop_writes: 24,
            write_stall_timeout: Duration::from_secs(30),
            background_compaction: true,
        }
    }
}

impl Options {
    /// Refuses options that cannot work.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: &str| Err(Error::invalid(why));
        if self.memtable_size_bytes == 0 {
            return bad("memtable_size_bytes must be > 0");
        }
        if self.max_immutable_memtables == 0 {
            return bad("max_immutable_memtables must be >= 1");
        }
        if self.table_size_target_bytes == 0 {
            return bad("table_size_target_bytes must be > 0");
        }
        if self.key_size_max_bytes == 0
            || self.key_size_max_bytes > super::sst::format::MAX_KEY_LEN - 8
        {
            return bad("key_size_max_bytes must be in 1..=65527");
        }
        if self.value_size_max_bytes > u32::MAX as usize {
            return bad("value_size_max_bytes must fit in 32 bits");
        }
        if self.level0_stop_writes < 2 {
            return bad("level0_stop_writes must be >= 2");
        }
        Ok(())
    }
}
