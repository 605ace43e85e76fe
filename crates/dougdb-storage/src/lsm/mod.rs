//! The LSM tree: memtable, SSTables, manifest, compaction.

pub mod key;
pub mod policy;

pub use key::{SeqNo, ValueKind};
pub use policy::{
    CompactionPolicy, CompactionTask, LevelSummary, LevelsSummary, TableId, TableSummary,
};
