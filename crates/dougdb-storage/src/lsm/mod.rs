//! The LSM tree: memtable, SSTables, manifest, compaction.

pub mod batch;
pub mod compaction;
mod db;
pub mod flush;
pub mod iter;
pub mod key;
pub mod manifest;
mod mem_filter;
pub mod memtable;
pub mod merge;
pub mod options;
pub mod policy;
pub mod sst;
pub mod stats;
pub mod version;

pub use batch::{BatchOp, WriteBatch};
pub use compaction::{LeveledPolicy, SizeTieredPolicy};
pub use db::{
    Checkpoint, CheckpointTable, Db, DbIter, INGEST_TABLES_MAX, IngestCheckpoint, IngestTable,
    ScanRange, Snapshot,
};
pub use iter::InternalIterator;
pub use key::{SeqNo, ValueKind};
pub use options::{Options, SyncMode};
pub use policy::{
    CompactionPolicy, CompactionTask, LevelSummary, LevelsSummary, TableId, TableSummary,
};
pub use stats::{DbStats, LevelStats};
