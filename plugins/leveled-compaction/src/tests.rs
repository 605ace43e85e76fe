//! The policy's decisions on small hand-made trees.

use super::*;
use dougdb_plugin_sdk::{LevelSummary, TableId};

fn table(id: u64, lo: &[u8], hi: &[u8], size_bytes: u64) -> TableSummary {
    TableSummary {
        id: TableId(id),
        size_bytes,
        smallest_key: lo.to_vec(),
        largest_key: hi.to_vec(),
        ..TableSummary::default()
    }
}

fn summary(levels: Vec<Vec<TableSummary>>) -> LevelsSummary {
    LevelsSummary {
        levels: levels
            .into_iter()
            .map(|tables| LevelSummary { tables })
            .collect(),
        table_size_target_bytes: 100,
    }
}

#[test]
fn below_l0_trigger_and_under_targets_picks_nothing() {
    let s = summary(vec![
        vec![table(1, b"a", b"z", 10); 3],
        vec![table(9, b"a", b"c", 500)],
    ]);
    assert_eq!(pick(&s), None);
}

#[test]
fn l0_at_trigger_merges_all_of_l0_with_overlapping_l1() {
    let l0 = (1..=4).map(|i| table(i, b"c", b"f", 10)).collect();
    let l1 = vec![
        table(10, b"a", b"b", 50),
        table(11, b"d", b"e", 50),
        table(12, b"x", b"z", 50),
    ];
    let task = pick(&summary(vec![l0, l1])).unwrap();
    assert_eq!(task.output_level, 1);
    let ids: Vec<u64> = task.inputs.iter().map(|t| t.0).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 11]);
}

#[test]
fn oversized_level_pushes_its_largest_table_down_with_overlaps() {
    // L1 target = 10 * 100 = 1000 bytes; L1 holds 1200.
    let l1 = vec![table(20, b"a", b"f", 500), table(21, b"g", b"m", 700)];
    let l2 = vec![table(30, b"h", b"k", 100), table(31, b"n", b"z", 100)];
    let task = pick(&summary(vec![vec![], l1, l2])).unwrap();
    assert_eq!(task.output_level, 2);
    let ids: Vec<u64> = task.inputs.iter().map(|t| t.0).collect();
    assert_eq!(ids, vec![21, 30]);
}
