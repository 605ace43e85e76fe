//! Compaction: the built-in policies, the validation every task passes before any I/O,
//! and the job that merges tables.

pub mod job;
pub mod leveled;
pub mod tiered;
pub mod validate;

pub use leveled::LeveledPolicy;
pub use tiered::SizeTieredPolicy;
pub use validate::{ValidTask, validate};

use crate::lsm::policy::TableSummary;

/// Tables of a sorted level whose user-key range overlaps `[lo, hi]`.
pub(crate) fn overlapping<'a>(
    tables: &'a [TableSummary],
    lo: &'a [u8],
    hi: &'a [u8],
) -> impl Iterator<Item = &'a TableSummary> + 'a {
    tables
        .iter()
        .filter(move |t| t.smallest_key.as_slice() <= hi && lo <= t.largest_key.as_slice())
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::lsm::policy::{LevelSummary, LevelsSummary, TableId, TableSummary};

    pub fn table(id: u64, lo: &[u8], hi: &[u8], size_bytes: u64) -> TableSummary {
        TableSummary {
            id: TableId(id),
            size_bytes,
            entries: 1,
            tombstones: 0,
            smallest_key: lo.to_vec(),
            largest_key: hi.to_vec(),
            smallest_seq: id,
            largest_seq: id,
        }
    }

    pub fn summary(levels: Vec<Vec<TableSummary>>) -> LevelsSummary {
        LevelsSummary {
            levels: levels
                .into_iter()
                .map(|tables| LevelSummary { tables })
                .collect(),
            table_size_target_bytes: 1 << 20,
        }
    }
}
