//! Size-tiered compaction as a plugin: level 0 holds sorted runs (one per table, newest
//! first). A window of `WIDTH_MIN..=WIDTH_MAX` *adjacent* runs of similar size (largest at
//! most `SIZE_RATIO_MAX` times the smallest) is merged into one run in level 0. Adjacent,
//! so the merged run never jumps over a run holding newer or older versions. Past `RUNS_MAX`
//! runs the oldest `WIDTH_MIN` are merged whatever their sizes, so reads stay bounded.

use dougdb_plugin_sdk::{CompactionTask, LevelsSummary, TableSummary, compaction_policy};

const WIDTH_MIN: usize = 4;
const WIDTH_MAX: usize = 16;
const SIZE_RATIO_MAX: u64 = 3;
const RUNS_MAX: usize = 16;

#[compaction_policy]
fn pick(summary: &LevelsSummary) -> Option<CompactionTask> {
    let runs = &summary.levels.first()?.tables;
    if runs.len() < WIDTH_MIN {
        return None;
    }
    let window = similar_window(runs)
        .or_else(|| (runs.len() > RUNS_MAX).then(|| runs.len() - WIDTH_MIN..runs.len()))?;
    Some(CompactionTask {
        inputs: runs[window].iter().map(|t| t.id).collect(),
        output_level: 0,
    })
}

/// The widest window of adjacent similar runs, at least `WIDTH_MIN` long; among equally
/// wide ones the oldest (furthest from the front).
fn similar_window(runs: &[TableSummary]) -> Option<std::ops::Range<usize>> {
    let mut best: Option<std::ops::Range<usize>> = None;
    for start in 0..runs.len() {
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        let mut end = start;
        while end < runs.len() && end - start < WIDTH_MAX {
            let size = runs[end].size_bytes.max(1);
            let (nlo, nhi) = (lo.min(size), hi.max(size));
            if nhi > nlo.saturating_mul(SIZE_RATIO_MAX) {
                break;
            }
            (lo, hi) = (nlo, nhi);
            end += 1;
        }
        let width = end - start;
        if width >= WIDTH_MIN && best.as_ref().is_none_or(|b| width >= b.len()) {
            best = Some(start..end);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use dougdb_plugin_sdk::{LevelSummary, TableId};

    fn runs(sizes: &[u64]) -> LevelsSummary {
        let tables = sizes
            .iter()
            .enumerate()
            .map(|(i, &size_bytes)| TableSummary {
                id: TableId(i as u64),
                size_bytes,
                ..TableSummary::default()
            })
            .collect();
        LevelsSummary {
            levels: vec![LevelSummary { tables }],
            table_size_target_bytes: 100,
        }
    }

    fn ids(task: Option<CompactionTask>) -> Option<Vec<u64>> {
        task.map(|t| {
            assert_eq!(t.output_level, 0);
            t.inputs.iter().map(|id| id.0).collect()
        })
    }

    #[test]
    fn fewer_than_width_min_runs_picks_nothing() {
        assert_eq!(ids(pick(&runs(&[10, 10, 10]))), None);
    }

    #[test]
    fn adjacent_similar_runs_are_merged_and_a_big_run_breaks_the_window() {
        assert_eq!(
            ids(pick(&runs(&[10, 12, 11, 10, 1000]))),
            Some(vec![0, 1, 2, 3])
        );
        assert_eq!(ids(pick(&runs(&[10, 1000, 10, 10, 10]))), None);
    }

    #[test]
    fn too_many_dissimilar_runs_merge_the_oldest() {
        let sizes: Vec<u64> = (0..17).map(|i| 1u64 << (2 * i)).collect();
        assert_eq!(ids(pick(&runs(&sizes))), Some(vec![13, 14, 15, 16]));
    }
}
