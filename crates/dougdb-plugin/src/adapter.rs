//! `WasmCompactionPolicy`: a compaction plugin behind the storage engine's
//! `CompactionPolicy` trait. A failing plugin never stops compaction: the failure is logged
//! and counted, and the built-in fallback policy answers instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dougdb_plugin_abi as abi;
use dougdb_storage::lsm::policy::{self as storage, CompactionPolicy};

use crate::CompactionPlugin;

/// A compaction plugin as the storage engine's policy, with a built-in fallback.
#[derive(Debug)]
pub struct WasmCompactionPolicy {
    plugin: CompactionPlugin,
    fallback: Arc<dyn CompactionPolicy>,
    failures: AtomicU64,
}

impl WasmCompactionPolicy {
    /// `plugin` decides; when it fails, `fallback` does.
    pub fn new(plugin: CompactionPlugin, fallback: Arc<dyn CompactionPolicy>) -> Self {
        Self {
            plugin,
            fallback,
            failures: AtomicU64::new(0),
        }
    }

    /// Calls that failed and were answered by the fallback.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// The plugin.
    pub fn plugin(&self) -> &CompactionPlugin {
        &self.plugin
    }
}

impl CompactionPolicy for WasmCompactionPolicy {
    fn name(&self) -> &str {
        self.plugin.name()
    }

    fn pick(&self, summary: &storage::LevelsSummary) -> Option<storage::CompactionTask> {
        match self.plugin.pick(&to_abi(summary)) {
            Ok(task) => task.map(from_abi),
            Err(error) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    plugin = self.plugin.name(),
                    fallback = self.fallback.name(),
                    failures,
                    %error,
                    "compaction plugin failed; the built-in policy decides"
                );
                self.fallback.pick(summary)
            }
        }
    }
}

/// The storage engine's summary in the ABI's types.
pub(crate) fn to_abi(summary: &storage::LevelsSummary) -> abi::LevelsSummary {
    abi::LevelsSummary {
        levels: summary
            .levels
            .iter()
            .map(|level| abi::LevelSummary {
                tables: level
                    .tables
                    .iter()
                    .map(|t| abi::TableSummary {
                        id: abi::TableId(t.id.0),
                        size_bytes: t.size_bytes,
                        entries: t.entries,
                        tombstones: t.tombstones,
                        smallest_key: t.smallest_key.clone(),
                        largest_key: t.largest_key.clone(),
                        smallest_seq: t.smallest_seq,
                        largest_seq: t.largest_seq,
                    })
                    .collect(),
            })
            .collect(),
        table_size_target_bytes: summary.table_size_target_bytes,
    }
}

fn from_abi(task: abi::CompactionTask) -> storage::CompactionTask {
    storage::CompactionTask {
        inputs: task
            .inputs
            .into_iter()
            .map(|id| storage::TableId(id.0))
            .collect(),
        output_level: task.output_level,
    }
}
