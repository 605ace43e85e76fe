//! The built-in leveled policy (the default): level 0 is compacted into level 1 once it
//! holds `l0_trigger` tables; level n >= 1 is compacted into n+1 once its size passes
//! `level1_target_bytes * ratio^(n-1)`.

use super::overlapping;
use crate::lsm::policy::{CompactionPolicy, CompactionTask, LevelsSummary, TableSummary};

/// Leveled compaction, as LevelDB and RocksDB do it by default.
#[derive(Debug, Clone)]
pub struct LeveledPolicy {
    /// Number of level-0 tables that triggers an L0 -> L1 compaction.
    pub l0_trigger: usize,
    /// Target size of level 1.
    pub level1_target_bytes: u64,
    /// Each level below 1 may be this many times larger than the one above.
    pub ratio: u64,
    /// Number of levels (the last one is never compacted further).
    pub levels_max: u32,
}

impl Default for LeveledPolicy {
    fn default() -> Self {
        LeveledPolicy {
            l0_trigger: 4,
            level1_target_bytes: 64 << 20,
            ratio: 10,
            levels_max: crate::lsm::manifest::LEVELS_MAX,
        }
    }
}

fn level_bytes(tables: &[TableSummary]) -> u64 {
    tables.iter().map(|t| t.size_bytes).sum()
}

impl LeveledPolicy {
    /// Target size of `level` (>= 1).
    pub fn target_bytes(&self, level: u32) -> u64 {
        let mut t = self.level1_target_bytes.max(1);
        for _ in 1..level {
            t = t.saturating_mul(self.ratio.max(2));
        }
        t
    }

    fn pick_l0(&self, s: &LevelsSummary) -> Option<CompactionTask> {
        let l0 = &s.levels.first()?.tables;
        if l0.is_empty() || l0.len() < self.l0_trigger {
            return None;
        }
        let lo = l0.iter().map(|t| &t.smallest_key).min()?;
        let hi = l0.iter().map(|t| &t.largest_key).max()?;
        let mut inputs: Vec<_> = l0.iter().map(|t| t.id).collect();
        if let Some(l1) = s.levels.get(1) {
            inputs.extend(overlapping(&l1.tables, lo, hi).map(|t| t.id));
        }
        Some(CompactionTask {
            inputs,
            output_level: 1,
        })
    }

    fn pick_level(&self, s: &LevelsSummary) -> Option<CompactionTask> {
        // The level furthest over its target, as a ratio scaled by 1000.
        let mut best: Option<(u64, usize)> = None;
        let last = (self.levels_max as usize)
            .saturating_sub(1)
            .min(s.levels.len());
        for level in 1..last {
            let bytes = level_bytes(&s.levels[level].tables);
            let target = self.target_bytes(level as u32);
            if bytes > target {
                let score = bytes.saturating_mul(1000) / target;
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, level));
                }
            }
        }
        let (_, level) = best?;
        let next = s.levels.get(level + 1).map_or(&[][..], |l| &l.tables[..]);
        // The table that rewrites the fewest next-level bytes per byte it moves down.
        let pick = s.levels[level].tables.iter().min_by_key(|t| {
            let over: u64 = overlapping(next, &t.smallest_key, &t.largest_key)
                .map(|o| o.size_bytes)
                .sum();
            over.saturating_mul(1024) / t.size_bytes.max(1)
        })?;
        let mut inputs = vec![pick.id];
        inputs.extend(overlapping(next, &pick.smallest_key, &pick.largest_key).map(|t| t.id));
        Some(CompactionTask {
            inputs,
            output_level: level as u32 + 1,
        })
    }
}

impl CompactionPolicy for LeveledPolicy {
    fn name(&self) -> &str {
        "leveled"
    }

    fn pick(&self, summary: &LevelsSummary) -> Option<CompactionTask> {
        self.pick_l0(summary).or_else(|| self.pick_level(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::compaction::tests::{summary, table};
    use crate::lsm::policy::TableId;

    #[test]
    fn quiet_tree_needs_nothing() {
        let p = LeveledPolicy::default();
        let s = summary(vec![vec![table(1, b"a", b"c", 10)]; 1]);
        assert_eq!(p.pick(&s), None);
        assert_eq!(p.pick(&LevelsSummary::default()), None);
    }

    #[test]
    fn l0_trigger_takes_all_l0_and_overlapping_l1() {
        let p = LeveledPolicy::default();
        let l0 = (1..=4).map(|i| table(10 + i, b"c", b"f", 10)).collect();
        let l1 = vec![
            table(1, b"a", b"b", 10),
            table(2, b"d", b"e", 10),
            table(3, b"f", b"g", 10),
            table(4, b"x", b"z", 10),
        ];
        let task = p.pick(&summary(vec![l0, l1])).unwrap();
        assert_eq!(task.output_level, 1);
        let ids: Vec<u64> = task.inputs.iter().map(|t| t.0).collect();
        assert_eq!(ids, vec![11, 12, 13, 14, 2, 3]);
    }

    #[test]
    fn oversized_level_moves_the_cheapest_table_down() {
        let p = LeveledPolicy {
            level1_target_bytes: 100,
            ..Default::default()
        };
        let l1 = vec![table(1, b"a", b"c", 60), table(2, b"m", b"p", 60)];
        let l2 = vec![table(3, b"a", b"b", 500), table(4, b"n", b"o", 10)];
        let task = p.pick(&summary(vec![vec![], l1, l2])).unwrap();
        assert_eq!(task.output_level, 2);
        assert_eq!(task.inputs, vec![TableId(2), TableId(4)]);
    }

    #[test]
    fn last_level_is_never_compacted() {
        let p = LeveledPolicy {
            level1_target_bytes: 1,
            levels_max: 3,
            ..Default::default()
        };
        let s = summary(vec![vec![], vec![], vec![table(1, b"a", b"b", 1000)]]);
        assert_eq!(p.pick(&s), None);
    }
}
