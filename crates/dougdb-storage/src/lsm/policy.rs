//! The compaction policy boundary: a policy only *decides* (which tables, into which
//! level); the engine validates the decision and does the I/O. Built-in policies and wasm
//! plugins (through an adapter in `dougdb-plugin`) implement the same trait.

use std::fmt::Debug;

/// Identifies an SSTable for the lifetime of a database (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(pub u64);

/// What a policy sees of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table's id.
    pub id: TableId,
    /// Size of the file in bytes.
    pub size_bytes: u64,
    /// Number of entries (puts and tombstones).
    pub entries: u64,
    /// Number of tombstones among them.
    pub tombstones: u64,
    /// Smallest user key in the table.
    pub smallest_key: Vec<u8>,
    /// Largest user key in the table.
    pub largest_key: Vec<u8>,
    /// Smallest sequence number in the table.
    pub smallest_seq: u64,
    /// Largest sequence number in the table.
    pub largest_seq: u64,
}

/// What a policy sees of one level. Level 0 tables may overlap and are listed newest
/// first; tables of every other level are disjoint and sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LevelSummary {
    /// The level's tables.
    pub tables: Vec<TableSummary>,
}

/// The whole tree as a policy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LevelsSummary {
    /// Levels 0..n; a missing level is empty.
    pub levels: Vec<LevelSummary>,
    /// Target size of one output table, from the engine's options.
    pub table_size_target_bytes: u64,
}

/// A policy's decision: merge `inputs` (from one or two adjacent levels) into
/// `output_level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionTask {
    /// Tables to merge; the engine checks that they exist and that the choice is safe.
    pub inputs: Vec<TableId>,
    /// The level the merged output goes to.
    pub output_level: u32,
}

/// Decides what to compact. Must be cheap and free of side effects: it is called with the
/// tree's summary after every flush and compaction.
pub trait CompactionPolicy: Send + Sync + Debug {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;
    /// The next compaction to run, or `None` when the tree is in shape.
    fn pick(&self, summary: &LevelsSummary) -> Option<CompactionTask>;
}
