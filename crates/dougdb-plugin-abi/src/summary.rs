//! The pick call's input: what a compaction policy sees of the LSM tree, the `no_std`
//! mirror of the storage engine's `LevelsSummary` (the host converts).
//!
//! ```text
//! table_size_target_bytes: u64 | level_count: u32 | level*
//! level = table_count: u32 | table*
//! table = id, size_bytes, entries, tombstones, smallest_seq, largest_seq: u64 each
//!         | smallest_key_len: u32 | largest_key_len: u32 | smallest_key | largest_key
//! ```

use alloc::vec::Vec;

use crate::DecodeError;
use crate::reader::{Reader, len_u32, put_u32, put_u64};
use crate::task::TableId;

/// Fixed part of one encoded table: six `u64` and two `u32`.
const TABLE_FIXED_BYTES: usize = 6 * 8 + 2 * 4;

/// What a policy sees of one table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSummary {
    /// The table's id (never reused).
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

/// One level. Level 0 tables may overlap and are listed newest first; tables of every other
/// level are disjoint and sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LevelSummary {
    /// The level's tables.
    pub tables: Vec<TableSummary>,
}

impl LevelSummary {
    /// Total size of the level's tables in bytes, saturating at `u64::MAX` (a decoded
    /// summary can hold any sizes; a plain sum overflows, which panics in debug builds).
    pub fn size_bytes(&self) -> u64 {
        self.tables
            .iter()
            .fold(0u64, |total, t| total.saturating_add(t.size_bytes))
    }
}

/// The whole tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LevelsSummary {
    /// Levels `0..n`; a missing level is empty.
    pub levels: Vec<LevelSummary>,
    /// Target size of one output table, from the engine's options.
    pub table_size_target_bytes: u64,
}

impl LevelsSummary {
    /// Number of tables over all levels.
    pub fn table_count(&self) -> usize {
        self.levels.iter().map(|l| l.tables.len()).sum()
    }
}

/// Encodes `summary` into `out` (cleared first).
pub fn encode_summary(summary: &LevelsSummary, out: &mut Vec<u8>) {
    out.clear();
    put_u64(out, summary.table_size_target_bytes);
    put_u32(out, len_u32(summary.levels.len()));
    for level in &summary.levels {
        put_u32(out, len_u32(level.tables.len()));
        for t in &level.tables {
            for v in [
                t.id.0,
                t.size_bytes,
                t.entries,
                t.tombstones,
                t.smallest_seq,
                t.largest_seq,
            ] {
                put_u64(out, v);
            }
            put_u32(out, len_u32(t.smallest_key.len()));
            put_u32(out, len_u32(t.largest_key.len()));
            out.extend_from_slice(&t.smallest_key);
            out.extend_from_slice(&t.largest_key);
        }
    }
}

/// Decodes a whole summary buffer; trailing bytes are an error.
pub fn decode_summary(buf: &[u8]) -> Result<LevelsSummary, DecodeError> {
    let mut r = Reader::new(buf);
    let table_size_target_bytes = r.u64()?;
    let level_count = r.count("level count", 4)?;
    let mut levels = Vec::with_capacity(level_count);
    for _ in 0..level_count {
        let table_count = r.count("table count", TABLE_FIXED_BYTES)?;
        let mut tables = Vec::with_capacity(table_count);
        for _ in 0..table_count {
            tables.push(decode_table(&mut r)?);
        }
        levels.push(LevelSummary { tables });
    }
    r.finish()?;
    Ok(LevelsSummary {
        levels,
        table_size_target_bytes,
    })
}

fn decode_table(r: &mut Reader<'_>) -> Result<TableSummary, DecodeError> {
    let id = TableId(r.u64()?);
    let size_bytes = r.u64()?;
    let entries = r.u64()?;
    let tombstones = r.u64()?;
    let smallest_seq = r.u64()?;
    let largest_seq = r.u64()?;
    let smallest_len = r.u32()? as usize;
    let largest_len = r.u32()? as usize;
    let smallest_key = r.bytes(smallest_len)?.to_vec();
    let largest_key = r.bytes(largest_len)?.to_vec();
    Ok(TableSummary {
        id,
        size_bytes,
        entries,
        tombstones,
        smallest_key,
        largest_key,
        smallest_seq,
        largest_seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn table(id: u64, size: u64, lo: &[u8], hi: &[u8]) -> TableSummary {
        TableSummary {
            id: TableId(id),
            size_bytes: size,
            entries: size / 10,
            tombstones: id,
            smallest_key: lo.to_vec(),
            largest_key: hi.to_vec(),
            smallest_seq: id * 100,
            largest_seq: id * 100 + 99,
        }
    }

    fn sample() -> LevelsSummary {
        LevelsSummary {
            levels: vec![
                LevelSummary {
                    tables: vec![table(9, 1000, b"a", b"z"), table(8, 900, b"", b"m")],
                },
                LevelSummary::default(),
                LevelSummary {
                    tables: vec![table(3, 5 << 20, b"aa", b"bb")],
                },
            ],
            table_size_target_bytes: 2 << 20,
        }
    }

    #[test]
    fn summary_round_trips_with_empty_levels_and_empty_keys() {
        let mut buf = Vec::new();
        encode_summary(&sample(), &mut buf);
        assert_eq!(decode_summary(&buf).unwrap(), sample());
        encode_summary(&LevelsSummary::default(), &mut buf);
        assert_eq!(buf.len(), 12);
        assert_eq!(decode_summary(&buf).unwrap(), LevelsSummary::default());
    }

    #[test]
    fn every_truncation_of_a_summary_is_refused() {
        let mut buf = Vec::new();
        encode_summary(&sample(), &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_summary(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn level_size_saturates_instead_of_overflowing() {
        // Found by fuzz/fuzz_targets/plugin_input.rs: sizes summing past u64::MAX panicked.
        let level = LevelSummary {
            tables: vec![table(1, u64::MAX - 1, b"a", b"b"), table(2, 5, b"c", b"d")],
        };
        assert_eq!(level.size_bytes(), u64::MAX);
        assert_eq!(sample().levels[0].size_bytes(), 1900);
    }

    #[test]
    fn table_is_fixed_56_bytes_plus_keys() {
        let mut buf = Vec::new();
        let one = LevelsSummary {
            levels: vec![LevelSummary {
                tables: vec![table(1, 10, b"ab", b"cde")],
            }],
            table_size_target_bytes: 0,
        };
        encode_summary(&one, &mut buf);
        assert_eq!(buf.len(), 8 + 4 + 4 + TABLE_FIXED_BYTES + 5);
    }
}
