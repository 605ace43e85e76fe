//! Counters of a database, and the snapshot of them that [`super::Db::stats`] returns.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Memtables flushed to tables.
    pub flushes: AtomicU64,
    /// Compactions run (trivial moves included).
    pub compactions: AtomicU64,
    /// Compactions that only moved a table down a level.
    pub trivial_moves: AtomicU64,
    /// Bytes written by flushes and compactions.
    pub bytes_written: AtomicU64,
    /// Writes that had to wait for background work.
    pub stalls: AtomicU64,
    /// Writes that gave up after the stall timeout.
    pub stall_timeouts: AtomicU64,
    /// Policy tasks that failed validation (the leveled policy ran instead).
    pub policy_fallbacks: AtomicU64,
}

impl Counters {
    /// Adds one to `c`.
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// One level as reported by [`DbStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Tables in the level.
    pub tables: usize,
    /// Their total size.
    pub bytes: u64,
}

/// A point-in-time view of a database's shape and counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Per level.
    pub levels: Vec<LevelStats>,
    /// Tables in all levels.
    pub tables: usize,
    /// Bytes of all tables.
    pub table_bytes: u64,
    /// Immutable memtables waiting for flush.
    pub immutable_memtables: usize,
    /// Bytes charged by the active memtable.
    pub memtable_bytes: u64,
    /// See [`Counters`].
    pub flushes: u64,
    /// See [`Counters`].
    pub compactions: u64,
    /// See [`Counters`].
    pub trivial_moves: u64,
    /// See [`Counters`].
    pub bytes_written: u64,
    /// See [`Counters`].
    pub stalls: u64,
    /// See [`Counters`].
    pub stall_timeouts: u64,
    /// See [`Counters`].
    pub policy_fallbacks: u64,
    /// Last sequence number visible to readers.
    pub last_seq: u64,
    /// Applied index made durable by flushes.
    pub applied_index: u64,
}

impl DbStats {
    /// Copies the counters into `self`.
    pub fn fill_counters(&mut self, c: &Counters) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.flushes = get(&c.flushes);
        self.compactions = get(&c.compactions);
        self.trivial_moves = get(&c.trivial_moves);
        self.bytes_written = get(&c.bytes_written);
        self.stalls = get(&c.stalls);
        self.stall_timeouts = get(&c.stall_timeouts);
        self.policy_fallbacks = get(&c.policy_fallbacks);
    }
}
