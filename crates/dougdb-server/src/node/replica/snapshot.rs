//! Snapshots of a replica: loading a leader's snapshot into the state machine, and
//! compacting the log behind a snapshot of its own once `snapshot_entries` entries, or
//! `StateMachineOptions::snapshot_log_bytes` bytes of entries, were applied since the
//! last one (whichever comes first).

use dougdb_raft::{LogIndex, LogStore};

use super::Replica;
use crate::error::{Error, Result};
use crate::node::answer::Waiter;

impl Replica {
    /// A leader's snapshot, already in the log store: load it into the state machine.
    pub(super) fn load_snapshot(&mut self, snap: &dougdb_raft::Snapshot) -> Result<()> {
        let index = snap.metadata.index.0;
        self.sm.write().install_snapshot(index, &snap.data)?;
        *self.conf.write() = snap.metadata.conf_state.clone();
        // Proposals covered by the snapshot will never be seen as entries.
        let covered: Vec<u64> = self.waiters.range(..=index).map(|(i, _)| *i).collect();
        for i in covered {
            if let Some((_, w)) = self.waiters.remove(&i) {
                let err = || Error::Unavailable {
                    reason: format!(
                        "shard {}: outcome of entry {i} unknown (snapshot)",
                        self.shard
                    ),
                };
                match w {
                    Waiter::Write(r) => {
                        let _ = r.send(Err(err()));
                    }
                    Waiter::Conf(r) => {
                        let _ = r.send(Err(err()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Snapshots the state machine and compacts the log once `snapshot_entries` entries
    /// or `snapshot_log_bytes` bytes of entries were applied since the last snapshot.
    pub(super) fn maybe_compact(&mut self, applied: u64) -> Result<()> {
        let last = self.raw.store().snapshot_metadata()?.index.0;
        if applied <= last {
            return Ok(());
        }
        let by_count = self
            .snapshot_entries
            .is_some_and(|every| applied >= last.saturating_add(every.max(1)));
        if !by_count && !self.sm.read().wants_snapshot_by_bytes() {
            return Ok(());
        }
        let data = self.sm.read().snapshot_data()?;
        tracing::debug!(
            shard = self.shard,
            index = applied,
            bytes = data.len(),
            "compacting the log behind a snapshot"
        );
        self.raw.compact(LogIndex(applied), data)?;
        self.sm.write().note_log_compacted();
        Ok(())
    }
}
