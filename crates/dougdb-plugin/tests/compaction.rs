//! Compaction plugins: the built-in leveled and tiered guests decide like their native
//! counterparts would, and the storage adapter falls back to the built-in policy (logging
//! and counting) when a plugin fails.
// Tests and their helpers may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{builtin, host};
use dougdb_plugin::{PluginError, WasmCompactionPolicy, abi};
use dougdb_storage::lsm::policy::{
    CompactionPolicy, CompactionTask, LevelSummary, LevelsSummary, TableId, TableSummary,
};

fn table(id: u64, lo: &[u8], hi: &[u8], size_bytes: u64) -> TableSummary {
    TableSummary {
        id: TableId(id),
        size_bytes,
        entries: 10,
        tombstones: 0,
        smallest_key: lo.to_vec(),
        largest_key: hi.to_vec(),
        smallest_seq: id,
        largest_seq: id,
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

/// Always answers "merge table 1 into level 1".
#[derive(Debug)]
struct Fixed;

impl CompactionPolicy for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn pick(&self, _: &LevelsSummary) -> Option<CompactionTask> {
        Some(CompactionTask {
            inputs: vec![TableId(1)],
            output_level: 1,
        })
    }
}

fn policy(name: &str, wasm: &[u8]) -> WasmCompactionPolicy {
    let plugin = host().load_compaction(name, wasm, &[]).unwrap();
    WasmCompactionPolicy::new(plugin, Arc::new(Fixed))
}

#[test]
fn leveled_plugin_merges_l0_at_trigger_with_overlapping_l1() {
    let p = policy("leveled", &builtin("leveled-compaction"));
    let l0: Vec<_> = (1..=4).map(|i| table(i, b"c", b"f", 10)).collect();
    let l1 = vec![table(10, b"a", b"b", 50), table(11, b"d", b"e", 50)];
    let task = p.pick(&summary(vec![l0.clone(), l1])).unwrap();
    assert_eq!(task.output_level, 1);
    assert_eq!(task.inputs, [1, 2, 3, 4, 11].map(TableId).to_vec());
    assert_eq!(p.pick(&summary(vec![l0[..3].to_vec()])), None);
    assert_eq!(p.failures(), 0);
    assert_eq!(p.name(), "leveled");
}

#[test]
fn tiered_plugin_merges_adjacent_similar_runs_into_level_0() {
    let p = policy("tiered", &builtin("tiered-compaction"));
    let runs = vec![
        table(5, b"a", b"z", 10),
        table(4, b"a", b"z", 12),
        table(3, b"a", b"z", 11),
        table(2, b"a", b"z", 10),
        table(1, b"a", b"z", 1000),
    ];
    let task = p.pick(&summary(vec![runs])).unwrap();
    assert_eq!(task.output_level, 0);
    assert_eq!(task.inputs, [5, 4, 3, 2].map(TableId).to_vec());
    assert_eq!(p.failures(), 0);
}

/// A pick export answering the bytes of `answer` (placed at offset 64).
fn pick_wat(body: &str, answer: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (data (i32.const 64) "{answer}")
             (func (export "dougdb_abi_version") (result i32) (i32.const 1))
             (func (export "dougdb_alloc") (param i32) (result i32) (i32.const 1024))
             (func (export "dougdb_free") (param i32 i32))
             (func (export "dougdb_pick") (param i32 i32) (result i64) {body}))"#
    ))
    .unwrap()
}

#[test]
fn failing_plugin_falls_back_to_the_builtin_policy_and_counts_each_failure() {
    let unknown_table = r"\01\00\00\00\01\00\00\00\01\00\00\00\63\00\00\00\00\00\00\00";
    let cases = [
        ("trap", pick_wat("(unreachable)", "")),
        ("fuel", pick_wat("(loop $l (br $l)) (unreachable)", "")),
        // tag 1, level 1, one input: table 99, which is not in the summary.
        (
            "unknown",
            pick_wat(
                "(i64.or (i64.shl (i64.const 20) (i64.const 32)) (i64.const 64))",
                unknown_table,
            ),
        ),
        (
            "bad-tag",
            pick_wat(
                "(i64.or (i64.shl (i64.const 4) (i64.const 32)) (i64.const 64))",
                r"\07\00\00\00",
            ),
        ),
    ];
    let s = summary(vec![vec![table(1, b"a", b"b", 10)]]);
    for (name, wasm) in cases {
        let p = policy(name, &wasm);
        for round in 1..=2 {
            assert_eq!(p.pick(&s), Fixed.pick(&s), "{name}");
            assert_eq!(p.failures(), round, "{name}");
        }
    }
}

#[test]
fn plugin_errors_name_the_cause() {
    let s = abi::LevelsSummary::default();
    let plugin = host()
        .load_compaction("trap", &pick_wat("(unreachable)", ""), &[])
        .unwrap();
    assert!(matches!(plugin.pick(&s), Err(PluginError::Trap { .. })));
    let unknown = r"\01\00\00\00\01\00\00\00\01\00\00\00\63\00\00\00\00\00\00\00";
    let body = "(i64.or (i64.shl (i64.const 20) (i64.const 32)) (i64.const 64))";
    let plugin = host()
        .load_compaction("unknown", &pick_wat(body, unknown), &[])
        .unwrap();
    let err = plugin.pick(&s).unwrap_err();
    assert!(
        matches!(&err, PluginError::BadOutput { reason, .. } if reason.contains("table 99")),
        "{err}"
    );
}
