//! The built-in size-tiered policy: level 0 holds sorted runs (one per table, newest
//! first); a window of adjacent runs of similar size is merged into one run in level 0.

use crate::lsm::policy::{CompactionPolicy, CompactionTask, LevelsSummary};

/// Size-tiered compaction: low write amplification, more runs to read.
#[derive(Debug, Clone)]
pub struct SizeTieredPolicy {
    /// Fewest runs merged at once.
    pub merge_width_min: usize,
    /// Most runs merged at once.
    pub merge_width_max: usize,
    /// Runs are "similar" when the largest is at most this many times the smallest.
    pub size_ratio_max: u64,
    /// Past this many runs, the oldest `merge_width_min` runs are merged even if they are
    /// not similar, so reads stay bounded.
    pub runs_max: usize,
}

impl Default for SizeTieredPolicy {
    fn default() -> Self {
        SizeTieredPolicy {
            merge_width_min: 4,
            merge_width_max: 16,
            size_ratio_max: 3,
            runs_max: 16,
        }
    }
}

impl CompactionPolicy for SizeTieredPolicy {
    fn name(&self) -> &str {
        "size-tiered"
    }

    fn pick(&self, summary: &LevelsSummary) -> Option<CompactionTask> {
        let runs = &summary.levels.first()?.tables;
        let width_min = self.merge_width_min.max(2);
        if runs.len() < width_min {
            return None;
        }
        // Among windows of similar runs, merge the one with the fewest bytes (cheapest).
        let mut best: Option<(u64, usize, usize)> = None;
        for start in 0..runs.len() {
            let mut lo = u64::MAX;
            let mut hi = 0u64;
            let mut total = 0u64;
            let stop = runs.len().min(start + self.merge_width_max.max(width_min));
            for (end, run) in runs.iter().enumerate().take(stop).skip(start) {
                let size = run.size_bytes.max(1);
                lo = lo.min(size);
                hi = hi.max(size);
                total = total.saturating_add(size);
                if hi > lo.saturating_mul(self.size_ratio_max.max(1)) {
                    break;
                }
                let width = end - start + 1;
                if width >= width_min && best.is_none_or(|(b, _, _)| total < b) {
                    best = Some((total, start, end));
                }
            }
        }
        let (start, end) = match best {
            Some((_, s, e)) => (s, e),
            None if runs.len() > self.runs_max => (runs.len() - width_min, runs.len() - 1),
            None => return None,
        };
        Some(CompactionTask {
            inputs: runs[start..=end].iter().map(|t| t.id).collect(),
            output_level: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::compaction::tests::{summary, table};
    use crate::lsm::policy::TableId;

    fn ids(task: &CompactionTask) -> Vec<u64> {
        task.inputs.iter().map(|t| t.0).collect()
    }

    #[test]
    fn too_few_runs_need_nothing() {
        let s = summary(vec![(1..=3).map(|i| table(i, b"a", b"z", 10)).collect()]);
        assert_eq!(SizeTieredPolicy::default().pick(&s), None);
    }

    #[test]
    fn merges_the_cheapest_window_of_similar_runs() {
        // newest first: four small runs, then two big ones.
        let sizes = [10, 12, 11, 10, 1000, 5000];
        let s = summary(vec![
            sizes
                .iter()
                .enumerate()
                .map(|(i, sz)| table(i as u64 + 1, b"a", b"z", *sz))
                .collect(),
        ]);
        let task = SizeTieredPolicy::default().pick(&s).unwrap();
        assert_eq!(task.output_level, 0);
        assert_eq!(ids(&task), vec![1, 2, 3, 4]);
    }

    #[test]
    fn dissimilar_runs_are_left_alone_until_too_many() {
        let p = SizeTieredPolicy {
            runs_max: 5,
            ..Default::default()
        };
        let mk = |n: u64| {
            summary(vec![
                (0..n)
                    .map(|i| table(i + 1, b"a", b"z", 10u64.pow(i as u32 + 1)))
                    .collect(),
            ])
        };
        assert_eq!(p.pick(&mk(5)), None);
        let task = p.pick(&mk(6)).unwrap();
        assert_eq!(ids(&task), vec![3, 4, 5, 6], "the oldest runs");
        assert!(task.inputs.iter().all(|t| *t != TableId(1)));
    }
}
