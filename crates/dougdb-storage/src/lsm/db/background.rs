//! Background work: the flush thread (immutable memtables -> level-0 tables, oldest
//! first) and the compaction thread (policy pick -> validation -> job -> manifest).
//! A failure stops writes (`Error::Closed`) instead of risking the files.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::inner::Inner;
use crate::error::{Error, Result};
use crate::lsm::compaction::{LeveledPolicy, ValidTask, job, validate};
use crate::lsm::flush::flush_memtable;
use crate::lsm::manifest::{LEVELS_MAX, VersionEdit};
use crate::lsm::policy::{CompactionPolicy, CompactionTask, TableId};
use crate::lsm::stats::Counters;

impl Inner {
    /// Flush thread body.
    pub fn flush_loop(self: &Arc<Self>) {
        loop {
            let imm = {
                let mut st = self.state.lock();
                while !st.shutdown && (st.imm.is_empty() || st.bg_error.is_some()) {
                    self.cond.wait(&mut st);
                }
                if st.shutdown {
                    return;
                }
                st.imm.front().cloned()
            };
            let Some(imm) = imm else { continue };
            if let Err(e) = self.flush_imm(&imm.mem, imm.log_end) {
                self.fail("flush", &e);
            }
        }
    }

    /// Flushes the oldest immutable memtable `mem` and retires it.
    fn flush_imm(&self, mem: &Arc<crate::lsm::memtable::Memtable>, log_end: u64) -> Result<()> {
        let id = TableId(self.next_file.fetch_add(1, Ordering::AcqRel));
        let table = flush_memtable(&self.factory, mem, id)?;
        let mut edit = VersionEdit {
            last_seq: Some(mem.max_seq().0),
            applied_index: Some(mem.applied_index_max()),
            ..Default::default()
        };
        if self.wal.is_some() {
            edit.log_position = Some(log_end);
        }
        let tables: Vec<_> = table.iter().cloned().collect();
        if let Some(t) = &table {
            edit.adds.push((0, t.meta.clone()));
            self.counters
                .bytes_written
                .fetch_add(t.meta.size_bytes, Ordering::Relaxed);
        }
        let mem_id = mem.id();
        self.log_and_apply(edit, &tables, |st| {
            if st.imm.front().is_some_and(|i| i.mem.id() == mem_id) {
                st.imm.pop_front();
            }
            st.flushed_mem_id = st.flushed_mem_id.max(mem_id);
        })?;
        Counters::bump(&self.counters.flushes);
        if let Some(wal) = &self.wal {
            wal.drop_before(crate::wal::Position(log_end))?;
        }
        Ok(())
    }

    /// Compaction thread body: runs the policy after every change of the tree.
    pub fn compaction_loop(self: &Arc<Self>) {
        let mut seen = u64::MAX;
        loop {
            {
                let mut st = self.state.lock();
                while !st.shutdown && (st.tree_changes == seen || st.bg_error.is_some()) {
                    self.cond.wait(&mut st);
                }
                if st.shutdown {
                    return;
                }
                seen = st.tree_changes;
            }
            loop {
                match self.compact_once(self.opts.compaction_policy.as_ref()) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        self.fail("compaction", &e);
                        break;
                    }
                }
                if self.state.lock().shutdown {
                    return;
                }
            }
        }
    }

    /// Validates `task` against the current tree.
    fn validate_task(&self, task: &CompactionTask) -> Result<ValidTask> {
        let st = self.state.lock();
        let summary = st.version.summary(self.opts.table_size_target_bytes);
        validate(task, &summary, &st.compacting, LEVELS_MAX)
    }

    /// Asks `policy` for one task and runs it; `Ok(false)` when there is nothing to do.
    /// An invalid task is logged, counted and replaced by the leveled policy's choice.
    pub fn compact_once(&self, policy: &dyn CompactionPolicy) -> Result<bool> {
        let _turn = self.compaction_lock.lock();
        let summary = self
            .state
            .lock()
            .version
            .summary(self.opts.table_size_target_bytes);
        let picked = catch_unwind(AssertUnwindSafe(|| policy.pick(&summary))).map_err(|_| {
            Error::InvalidCompaction {
                reason: format!("policy {} panicked", policy.name()),
            }
        });
        let valid = match picked.and_then(|t| t.map(|t| self.validate_task(&t)).transpose()) {
            Ok(None) => return Ok(false),
            Ok(Some(v)) => v,
            Err(e) => {
                Counters::bump(&self.counters.policy_fallbacks);
                tracing::warn!(policy = policy.name(), error = %e, "compaction policy gave an invalid task; using leveled");
                match LeveledPolicy::default().pick(&summary) {
                    None => return Ok(false),
                    Some(t) => match self.validate_task(&t) {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::error!(error = %e, "built-in leveled task rejected");
                            return Ok(false);
                        }
                    },
                }
            }
        };
        self.run_task(&valid)?;
        Ok(true)
    }

    /// Runs a validated task and installs its result.
    pub fn run_task(&self, task: &ValidTask) -> Result<()> {
        let version = {
            let mut st = self.state.lock();
            st.compacting.extend(task.inputs.iter().map(|(_, id)| *id));
            Arc::clone(&st.version)
        };
        let result = self.run_job(task, &version);
        let mut st = self.state.lock();
        for (_, id) in &task.inputs {
            st.compacting.remove(id);
        }
        result
    }

    fn run_job(&self, task: &ValidTask, version: &crate::lsm::version::Version) -> Result<()> {
        let horizon = self.snapshots.horizon();
        let out = job::run(
            task,
            version,
            &self.factory,
            horizon,
            &self.next_file,
            self.opts.table_size_target_bytes,
        )?;
        self.log_and_apply(out.edit, &out.outputs, |_| {})?;
        for t in &out.obsolete {
            t.mark_obsolete();
        }
        Counters::bump(&self.counters.compactions);
        if task.trivial_move {
            Counters::bump(&self.counters.trivial_moves);
        }
        self.counters
            .bytes_written
            .fetch_add(out.bytes_written, Ordering::Relaxed);
        Ok(())
    }

    /// Pushes every table down, level by level, to the deepest non-empty level (at
    /// least 1). Each step is an ordinary validated task.
    pub fn compact_all(&self) -> Result<()> {
        let _turn = self.compaction_lock.lock();
        let deepest = {
            let st = self.state.lock();
            let v = &st.version;
            (1..LEVELS_MAX as usize)
                .rev()
                .find(|l| !v.levels[*l].is_empty())
                .unwrap_or(1)
        };
        for level in 0..deepest {
            let inputs: Vec<TableId> = {
                let st = self.state.lock();
                let v = &st.version;
                v.levels[level]
                    .iter()
                    .chain(v.levels[level + 1].iter())
                    .map(|t| t.meta.id)
                    .collect()
            };
            if inputs.is_empty() {
                continue;
            }
            let task = CompactionTask {
                inputs,
                output_level: level as u32 + 1,
            };
            let valid = self.validate_task(&task)?;
            self.run_task(&valid)?;
        }
        Ok(())
    }
}
