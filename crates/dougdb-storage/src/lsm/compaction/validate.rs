//! Validation of a policy's [`CompactionTask`] before any I/O, so that no policy (built
//! in or a wasm plugin) can make the engine lose or resurrect data.
//!
//! A task is accepted only if:
//! 1. it names at least one table, each at most once, each existing and not already
//!    being compacted;
//! 2. with L the shallowest input level, the output level is L or L+1 (below the last
//!    level), and every input is in L or in the output level;
//! 3. in the output level (if > 0), every table overlapping the user-key range of all
//!    inputs is itself an input, so the output cannot overlap unrelated tables there;
//! 4. inputs from a level L > 0 that moves down are contiguous in that level;
//! 5. level-0 inputs merged back into level 0 are a contiguous run of level 0's
//!    newest-first order, so the merged run keeps its place in time;
//! 6. level-0 inputs moved to level 1 leave behind no overlapping level-0 table that is
//!    older than one of them (it would end up above newer data).

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::lsm::policy::{CompactionTask, LevelsSummary, TableId, TableSummary};

/// Most input tables in one task.
pub const TASK_INPUTS_MAX: usize = 4096;

/// A task that passed validation, with what the job needs to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTask {
    /// Inputs as (level, id), newest data first: level 0 in its order, then the shallow
    /// level by key, then the output level by key.
    pub inputs: Vec<(u32, TableId)>,
    /// Where the output goes.
    pub output_level: u32,
    /// User-key ranges of tables outside the task holding data older than the output:
    /// a tombstone inside one of them must be kept.
    pub older_ranges: Vec<(Vec<u8>, Vec<u8>)>,
    /// One table moving down a level with nothing to merge: re-point, don't rewrite.
    pub trivial_move: bool,
}

fn reject(reason: impl Into<String>) -> Error {
    Error::InvalidCompaction {
        reason: reason.into(),
    }
}

fn overlaps(t: &TableSummary, lo: &[u8], hi: &[u8]) -> bool {
    t.smallest_key.as_slice() <= hi && lo <= t.largest_key.as_slice()
}

fn contiguous(positions: &mut [usize]) -> bool {
    positions.sort_unstable();
    positions.windows(2).all(|w| w[1] == w[0] + 1)
}

/// Checks `task` against the tree `s` (level 0 newest first, other levels by key).
pub fn validate(
    task: &CompactionTask,
    s: &LevelsSummary,
    compacting: &HashSet<TableId>,
    levels_max: u32,
) -> Result<ValidTask> {
    if task.inputs.is_empty() {
        return Err(reject("the task has no input tables"));
    }
    if task.inputs.len() > TASK_INPUTS_MAX {
        return Err(reject(format!("more than {TASK_INPUTS_MAX} inputs")));
    }
    let mut where_is: HashMap<TableId, (u32, usize)> = HashMap::new();
    for (level, l) in s.levels.iter().enumerate() {
        for (pos, t) in l.tables.iter().enumerate() {
            where_is.insert(t.id, (level as u32, pos));
        }
    }
    let mut found: Vec<(u32, usize, TableId)> = Vec::with_capacity(task.inputs.len());
    let mut seen = HashSet::new();
    for id in &task.inputs {
        if !seen.insert(*id) {
            return Err(reject(format!("table {} is listed twice", id.0)));
        }
        let (level, pos) = *where_is
            .get(id)
            .ok_or_else(|| reject(format!("table {} does not exist", id.0)))?;
        if compacting.contains(id) {
            return Err(reject(format!("table {} is already being compacted", id.0)));
        }
        found.push((level, pos, *id));
    }
    let out = task.output_level;
    let shallow = found.iter().map(|f| f.0).min().unwrap_or(0);
    if out >= levels_max {
        return Err(reject(format!("output level {out} is past the last level")));
    }
    if out != shallow && out != shallow + 1 {
        return Err(reject(format!(
            "output level {out} is neither the input level {shallow} nor the next one"
        )));
    }
    if let Some(f) = found.iter().find(|f| f.0 != shallow && f.0 != out) {
        return Err(reject(format!(
            "table {} is in unrelated level {}",
            f.2.0, f.0
        )));
    }
    let table = |f: &(u32, usize, TableId)| &s.levels[f.0 as usize].tables[f.1];
    let lo = found
        .iter()
        .map(|f| &table(f).smallest_key)
        .min()
        .cloned()
        .unwrap_or_default();
    let hi = found
        .iter()
        .map(|f| &table(f).largest_key)
        .max()
        .cloned()
        .unwrap_or_default();
    let empty = Vec::new();
    let level_tables = |l: u32| s.levels.get(l as usize).map_or(&empty, |l| &l.tables);

    if out > 0 {
        for t in level_tables(out) {
            if overlaps(t, &lo, &hi) && !seen.contains(&t.id) {
                return Err(reject(format!(
                    "table {} in output level {out} overlaps the output but is not an input",
                    t.id.0
                )));
            }
        }
    }
    let mut shallow_pos: Vec<usize> = found
        .iter()
        .filter(|f| f.0 == shallow)
        .map(|f| f.1)
        .collect();
    if !contiguous(&mut shallow_pos) {
        return Err(reject(format!(
            "inputs from level {shallow} are not contiguous"
        )));
    }
    let l0_newest = shallow_pos.first().copied().unwrap_or(0);
    let l0_oldest = shallow_pos.last().copied().unwrap_or(0);
    if shallow == 0 && out == 1 {
        let l0_in: Vec<&TableSummary> = found.iter().filter(|f| f.0 == 0).map(table).collect();
        let lo0 = l0_in
            .iter()
            .map(|t| &t.smallest_key)
            .min()
            .cloned()
            .unwrap_or_default();
        let hi0 = l0_in
            .iter()
            .map(|t| &t.largest_key)
            .max()
            .cloned()
            .unwrap_or_default();
        for (pos, t) in level_tables(0).iter().enumerate() {
            if pos > l0_newest && !seen.contains(&t.id) && overlaps(t, &lo0, &hi0) {
                return Err(reject(format!(
                    "level-0 table {} is older than an input, overlaps it, and would be left above it",
                    t.id.0
                )));
            }
        }
    }

    let mut inputs: Vec<(u32, usize, TableId)> = found.clone();
    inputs.sort_by_key(|f| (f.0, f.1));
    let mut older_ranges = Vec::new();
    if out == 0 {
        for t in level_tables(0).iter().skip(l0_oldest + 1) {
            older_ranges.push((t.smallest_key.clone(), t.largest_key.clone()));
        }
    }
    for l in (out + 1)..(s.levels.len() as u32) {
        for t in level_tables(l) {
            if overlaps(t, &lo, &hi) {
                older_ranges.push((t.smallest_key.clone(), t.largest_key.clone()));
            }
        }
    }
    Ok(ValidTask {
        trivial_move: inputs.len() == 1 && out == shallow + 1,
        inputs: inputs.into_iter().map(|f| (f.0, f.2)).collect(),
        output_level: out,
        older_ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::compaction::tests::{summary, table};

    fn tree() -> LevelsSummary {
        summary(vec![
            // level 0, newest first
            vec![
                table(20, b"a", b"c", 1),
                table(21, b"m", b"p", 1),
                table(22, b"b", b"d", 1),
            ],
            vec![
                table(10, b"a", b"b", 1),
                table(11, b"c", b"e", 1),
                table(12, b"f", b"k", 1),
            ],
            vec![table(1, b"a", b"z", 1)],
        ])
    }

    fn task(ids: &[u64], out: u32) -> CompactionTask {
        CompactionTask {
            inputs: ids.iter().map(|i| TableId(*i)).collect(),
            output_level: out,
        }
    }

    fn check(ids: &[u64], out: u32) -> Result<ValidTask> {
        validate(&task(ids, out), &tree(), &HashSet::new(), 7)
    }

    #[test]
    fn well_formed_tasks_pass() {
        check(&[20, 21, 22, 10, 11, 12], 1).unwrap();
        check(&[20, 21], 0).unwrap();
        check(&[11], 1).unwrap();
        check(&[12, 1], 2).unwrap();
        check(&[21], 1).unwrap(); // m..p overlaps nothing older
        let v = check(&[10, 11, 1], 2).unwrap();
        assert_eq!(
            v.inputs,
            vec![(1, TableId(10)), (1, TableId(11)), (2, TableId(1))]
        );
        assert!(check(&[1], 3).unwrap().trivial_move);
    }

    #[test]
    fn empty_duplicate_and_unknown_inputs_are_rejected() {
        assert!(check(&[], 1).is_err());
        assert!(check(&[10, 10], 1).is_err());
        assert!(check(&[999], 1).is_err());
    }

    #[test]
    fn busy_tables_are_rejected() {
        let busy: HashSet<TableId> = [TableId(12)].into();
        assert!(validate(&task(&[12, 1], 2), &tree(), &busy, 7).is_err());
    }

    #[test]
    fn wrong_levels_are_rejected() {
        assert!(check(&[10], 3).is_err(), "skips a level");
        assert!(check(&[1], 1).is_err(), "moves data up");
        assert!(check(&[20, 1], 1).is_err(), "unrelated level");
        assert!(check(&[1], 7).is_err(), "past the last level");
    }

    #[test]
    fn incomplete_output_level_overlap_is_rejected() {
        assert!(check(&[11], 2).is_err(), "table 1 in level 2 overlaps");
        assert!(check(&[20, 21, 22, 10], 1).is_err(), "11 overlaps b..d");
    }

    #[test]
    fn non_contiguous_inputs_are_rejected() {
        assert!(check(&[10, 12, 1], 2).is_err());
        assert!(check(&[20, 22], 0).is_err());
    }

    #[test]
    fn leaving_an_older_overlapping_l0_table_above_is_rejected() {
        assert!(
            check(&[20, 10, 11], 1).is_err(),
            "22 (b..d) is older and overlaps"
        );
        check(&[22, 10, 11], 1).unwrap();
    }

    #[test]
    fn older_ranges_cover_deeper_levels_and_older_runs() {
        let v = check(&[20, 21], 0).unwrap();
        assert!(v.older_ranges.contains(&(b"b".to_vec(), b"d".to_vec())));
        assert!(v.older_ranges.contains(&(b"a".to_vec(), b"z".to_vec())));
        let v = check(&[12, 1], 2).unwrap();
        assert!(v.older_ranges.is_empty());
    }
}
