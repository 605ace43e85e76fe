//! The rows `load` measured, and `--json PATH`: the same rows as a JSON array, one
//! object per (op, clients), for scripts that combine several runs
//! (`scripts/bench_compare_report.py`). Written by hand: flat objects of numbers and
//! fixed ASCII names need no serializer.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use dougdb_bench::Measurement;

use crate::target::Target;
use crate::workload::Op;

/// One measured (op, clients) run.
#[derive(Debug)]
pub struct Row {
    pub op: Op,
    pub clients: usize,
    /// Failed operations (not counted in `m.ops` nor in the latencies).
    pub errors: u64,
    pub m: Measurement,
}

/// What every row of one invocation shares.
#[derive(Debug)]
pub struct RunInfo {
    pub target: Target,
    pub shards: u64,
    pub connections: usize,
    pub key_bytes: usize,
    pub value_bytes: usize,
    pub keyspace: u64,
}

/// Writes `rows` to `path` as a JSON array.
pub fn write_json(path: &Path, info: &RunInfo, rows: &[Row]) -> anyhow::Result<()> {
    let mut out = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let sep = if i + 1 < rows.len() { "," } else { "" };
        // Infallible: writing to a String.
        let _ = writeln!(
            out,
            concat!(
                r#"  {{"target": "{}", "op": "{}", "clients": {}, "shards": {}, "#,
                r#""connections": {}, "key_bytes": {}, "value_bytes": {}, "keyspace": {}, "#,
                r#""ops": {}, "errors": {}, "seconds": {:.3}, "ops_per_sec": {:.1}, "#,
                r#""p50_us": {:.1}, "p99_us": {:.1}, "p999_us": {:.1}}}{}"#
            ),
            info.target.name(),
            r.op.name(),
            r.clients,
            info.shards,
            info.connections,
            info.key_bytes,
            info.value_bytes,
            info.keyspace,
            r.m.ops,
            r.errors,
            r.m.elapsed.as_secs_f64(),
            r.m.ops_per_sec(),
            r.m.p50_us,
            r.m.p99_us,
            r.m.p999_us,
            sep
        );
    }
    out.push_str("]\n");
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}
