//! `CompactionPlugin`: a loaded compaction policy called with the ABI's summary types. Its
//! answers are checked for structure (known, distinct tables; a reachable level); the
//! storage engine still validates every task before any I/O.

use std::collections::HashSet;
use std::sync::Arc;

use dougdb_plugin_abi::{CompactionTask, EXPORT_PICK, LevelsSummary, decode_task, encode_summary};

use crate::pool::Loaded;
use crate::slot::Entry;
use crate::{Digest, PluginError, Result};

/// A compaction plugin. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct CompactionPlugin {
    inner: Arc<Loaded>,
}

impl CompactionPlugin {
    pub(crate) fn from_loaded(inner: Arc<Loaded>) -> Self {
        Self { inner }
    }

    /// The plugin's decision for `summary`.
    pub fn pick(&self, summary: &LevelsSummary) -> Result<Option<CompactionTask>> {
        let limits = &self.inner.limits;
        let mut input = Vec::new();
        encode_summary(summary, &mut input);
        if input.len() > limits.input_bytes_max {
            return Err(PluginError::InvalidArgument {
                plugin: self.name().into(),
                reason: format!(
                    "summary of {} bytes, the limit is {}",
                    input.len(),
                    limits.input_bytes_max
                ),
            });
        }
        let tables = summary.table_count();
        let budget = limits.fuel_for(tables, limits.fuel_per_table, input.len());
        self.inner.with_slot(budget, |slot| {
            let Entry::Pick(pick) = &slot.entry else {
                return Err(PluginError::MissingExport {
                    plugin: slot.plugin(),
                    export: EXPORT_PICK.into(),
                });
            };
            let pick = pick.clone();
            let input = slot.write(&input, budget)?;
            let packed = pick
                .call(&mut slot.store, (input.ptr as i32, input.len as i32))
                .map_err(|err| slot.fail(err, budget))?;
            let (output, bytes) = slot.output(packed)?;
            let task = decode_task(bytes)
                .map_err(|err| err.to_string())
                .and_then(|task| check_task(summary, task))
                .map_err(|reason| PluginError::BadOutput {
                    plugin: slot.plugin(),
                    reason,
                })?;
            slot.release(output, budget)?;
            slot.release(input, budget)?;
            Ok(task)
        })
    }

    /// The sha256 of the module's bytes.
    pub fn digest(&self) -> Digest {
        self.inner.digest
    }

    /// The name the plugin was loaded under.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Fuel used by the last call (of any thread).
    pub fn last_fuel_used(&self) -> u64 {
        self.inner.last_fuel_used()
    }
}

/// Structural checks only: inputs exist in the summary, are distinct and not empty, and the
/// output level exists or is the one just below the deepest.
fn check_task(
    summary: &LevelsSummary,
    task: Option<CompactionTask>,
) -> Result<Option<CompactionTask>, String> {
    let Some(task) = task else { return Ok(None) };
    if task.inputs.is_empty() {
        return Err("a task with no input tables".into());
    }
    let known: HashSet<_> = summary
        .levels
        .iter()
        .flat_map(|level| level.tables.iter().map(|t| t.id))
        .collect();
    let mut seen = HashSet::new();
    for id in &task.inputs {
        if !known.contains(id) {
            return Err(format!("input table {} is not in the summary", id.0));
        }
        if !seen.insert(*id) {
            return Err(format!("input table {} is listed twice", id.0));
        }
    }
    let levels = u32::try_from(summary.levels.len()).unwrap_or(u32::MAX);
    if task.output_level > levels {
        return Err(format!(
            "output level {} is past the deepest level {levels}",
            task.output_level
        ));
    }
    Ok(Some(task))
}
