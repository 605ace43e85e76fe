//! Leveled compaction as a plugin (the idea of LevelDB/RocksDB's default): level 0 is merged
//! into level 1 once it holds `L0_TRIGGER` tables; level `n >= 1` is merged into `n + 1`
//! once its size passes `10 * table_size_target * RATIO^(n-1)`, one table at a time
//! (with the tables of `n + 1` it overlaps). The last level is never compacted further.

use dougdb_plugin_sdk::{CompactionTask, LevelsSummary, TableSummary, compaction_policy};

/// Level-0 tables that trigger an L0 -> L1 compaction.
const L0_TRIGGER: usize = 4;
/// Each level may be this many times larger than the one above.
const RATIO: u64 = 10;
/// Levels `0..LEVELS_MAX`; nothing is compacted out of the last one.
const LEVELS_MAX: usize = 7;

#[compaction_policy]
fn pick(summary: &LevelsSummary) -> Option<CompactionTask> {
    pick_l0(summary).or_else(|| pick_deeper(summary))
}

fn overlapping<'a>(
    tables: &'a [TableSummary],
    lo: &'a [u8],
    hi: &'a [u8],
) -> impl Iterator<Item = &'a TableSummary> + 'a {
    tables
        .iter()
        .filter(move |t| t.smallest_key.as_slice() <= hi && lo <= t.largest_key.as_slice())
}

fn pick_l0(s: &LevelsSummary) -> Option<CompactionTask> {
    let l0 = &s.levels.first()?.tables;
    if l0.len() < L0_TRIGGER {
        return None;
    }
    let lo = l0.iter().map(|t| t.smallest_key.as_slice()).min()?;
    let hi = l0.iter().map(|t| t.largest_key.as_slice()).max()?;
    let mut inputs: Vec<_> = l0.iter().map(|t| t.id).collect();
    if let Some(l1) = s.levels.get(1) {
        inputs.extend(overlapping(&l1.tables, lo, hi).map(|t| t.id));
    }
    Some(CompactionTask {
        inputs,
        output_level: 1,
    })
}

/// Target size of `level >= 1`.
fn target_bytes(s: &LevelsSummary, level: usize) -> u64 {
    let mut t = s.table_size_target_bytes.max(1).saturating_mul(RATIO);
    for _ in 1..level {
        t = t.saturating_mul(RATIO);
    }
    t
}

/// The level furthest over its target (score = size / target > 1) gives its largest
/// table; ties go to the shallower level.
fn pick_deeper(s: &LevelsSummary) -> Option<CompactionTask> {
    let last = s.levels.len().min(LEVELS_MAX).saturating_sub(1);
    let mut best: Option<(usize, f64)> = None;
    for level in 1..last.max(1) {
        if level >= LEVELS_MAX - 1 {
            break;
        }
        let size = s.levels[level].size_bytes();
        let score = size as f64 / target_bytes(s, level) as f64;
        if score > 1.0 && best.is_none_or(|(_, b)| score > b) {
            best = Some((level, score));
        }
    }
    let (level, _) = best?;
    let table = s.levels[level].tables.iter().max_by_key(|t| t.size_bytes)?;
    let mut inputs = vec![table.id];
    if let Some(next) = s.levels.get(level + 1) {
        inputs.extend(
            overlapping(&next.tables, &table.smallest_key, &table.largest_key).map(|t| t.id),
        );
    }
    Some(CompactionTask {
        inputs,
        output_level: level as u32 + 1,
    })
}

#[cfg(test)]
mod tests;
