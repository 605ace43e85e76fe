//! The LSM tree: memtable, SSTables, manifest, compaction.

pub mod iter;
pub mod key;
pub mod policy;
pub mod sst;

pub use iter::InternalIterator;
pub use key::{SeqNo, ValueKind};
pub use policy::{
    CompactionPolicy, CompactionTask, LevelSummary, LevelsSummary, TableId, TableSummary,
};
