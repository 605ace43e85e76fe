//! The `LogStore` trait (the persisted log: entries, hard state, snapshot / compaction
//! point) and `MemLogStore`, its in-memory implementation.
//!
//! Raft only *reads* a store. The caller writes it while carrying out a `Ready` (or via
//! [`crate::persist_ready`]) and when compacting.

use crate::error::{Error, Result};
use crate::types::{ConfState, Entry, HardState, LogIndex, Snapshot, SnapshotMetadata, Term};

/// A slice of the stored snapshot's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRead {
    /// Bytes starting at the requested offset (at most the requested length).
    pub data: Vec<u8>,
    /// No bytes follow `data`.
    pub done: bool,
}

/// The durable log of one Raft node.
///
/// Shape: a snapshot at `S = snapshot_metadata().index` (index 0, term 0 when there is
/// none) followed by entries `S+1 ..= last_index()`. `first_index() == S + 1`.
/// Every write must be durable when the method returns (or at the latest before the
/// caller sends the messages of the `Ready` that caused it).
pub trait LogStore {
    /// The persisted hard state (default when nothing was ever stored).
    fn hard_state(&self) -> Result<HardState>;
    /// Persists the hard state.
    fn set_hard_state(&mut self, hs: &HardState) -> Result<()>;
    /// Metadata of the stored snapshot: the compaction point and membership at it.
    fn snapshot_metadata(&self) -> Result<SnapshotMetadata>;
    /// Reads up to `max_bytes` (at least 1 if any remain) of the snapshot's data from `offset`.
    fn snapshot_read(&self, offset: u64, max_bytes: u64) -> Result<SnapshotRead>;
    /// `snapshot index + 1`.
    fn first_index(&self) -> Result<LogIndex>;
    /// Index of the last entry, or the snapshot index when there are no entries.
    fn last_index(&self) -> Result<LogIndex>;
    /// Term of the entry at `index`; `index` may be the snapshot index.
    /// `Compacted` below it, `Unavailable` past `last_index()`.
    fn term(&self, index: LogIndex) -> Result<Term>;
    /// Entries `[lo, hi)`, stopping once their `size_bytes()` sum would exceed
    /// `max_bytes` (but always at least one entry when `lo < hi`).
    /// `Compacted` if `lo < first_index()`, `Unavailable` if `hi > last_index() + 1`.
    fn entries(&self, lo: LogIndex, hi: LogIndex, max_bytes: u64) -> Result<Vec<Entry>>;
    /// Appends consecutive `entries`, first removing every stored entry at or after
    /// `entries[0].index` (the conflicting suffix). `entries[0].index` must be in
    /// `first_index() ..= last_index() + 1`. Empty `entries` is a no-op.
    fn append(&mut self, entries: &[Entry]) -> Result<()>;
    /// Log compaction: keep `snapshot` and drop entries `<= snapshot.metadata.index`,
    /// which must be a stored entry with term `snapshot.metadata.term`.
    fn compact(&mut self, snapshot: Snapshot) -> Result<()>;
    /// Installs a snapshot received from the leader: replaces the whole log.
    /// `SnapshotOutOfDate` if it is not newer than the stored snapshot.
    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<()>;
}

/// In-memory `LogStore`. Cloning it is how the simulator models "what was on disk".
#[derive(Clone, Debug, Default)]
pub struct MemLogStore {
    hard_state: HardState,
    snapshot: Snapshot,
    /// `entries[k].index == snapshot.metadata.index + 1 + k`.
    entries: Vec<Entry>,
}

impl MemLogStore {
    /// An empty store with no membership (a node that will be added later).
    pub fn new() -> MemLogStore {
        MemLogStore::default()
    }

    /// An empty store whose initial membership (snapshot at index 0) is `conf_state`:
    /// how a new group is bootstrapped.
    pub fn with_conf_state(conf_state: ConfState) -> MemLogStore {
        let mut s = MemLogStore::default();
        s.snapshot.metadata.conf_state = conf_state;
        s
    }

    /// The stored snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The stored entries (after the snapshot).
    pub fn stored_entries(&self) -> &[Entry] {
        &self.entries
    }

    fn snap_index(&self) -> LogIndex {
        self.snapshot.metadata.index
    }

    fn offset_of(&self, index: LogIndex) -> usize {
        (index.0 - self.snap_index().0 - 1) as usize
    }
}

impl LogStore for MemLogStore {
    fn hard_state(&self) -> Result<HardState> {
        Ok(self.hard_state.clone())
    }

    fn set_hard_state(&mut self, hs: &HardState) -> Result<()> {
        self.hard_state = hs.clone();
        Ok(())
    }

    fn snapshot_metadata(&self) -> Result<SnapshotMetadata> {
        Ok(self.snapshot.metadata.clone())
    }

    fn snapshot_read(&self, offset: u64, max_bytes: u64) -> Result<SnapshotRead> {
        let len = self.snapshot.data.len() as u64;
        let start = offset.min(len);
        let end = start.saturating_add(max_bytes.max(1)).min(len);
        Ok(SnapshotRead {
            data: self.snapshot.data[start as usize..end as usize].to_vec(),
            done: end == len,
        })
    }

    fn first_index(&self) -> Result<LogIndex> {
        Ok(self.snap_index().next())
    }

    fn last_index(&self) -> Result<LogIndex> {
        Ok(self.snap_index().plus(self.entries.len() as u64))
    }

    fn term(&self, index: LogIndex) -> Result<Term> {
        if index == self.snap_index() {
            return Ok(self.snapshot.metadata.term);
        }
        if index < self.snap_index() {
            return Err(Error::Compacted { index });
        }
        if index > self.last_index()? {
            return Err(Error::Unavailable { index });
        }
        Ok(self.entries[self.offset_of(index)].term)
    }

    fn entries(&self, lo: LogIndex, hi: LogIndex, max_bytes: u64) -> Result<Vec<Entry>> {
        if lo <= self.snap_index() {
            return Err(Error::Compacted { index: lo });
        }
        if hi > self.last_index()?.next() {
            return Err(Error::Unavailable { index: hi.prev() });
        }
        let mut out = Vec::new();
        let mut size = 0u64;
        if lo >= hi {
            return Ok(out);
        }
        for e in &self.entries[self.offset_of(lo)..self.offset_of(hi)] {
            size = size.saturating_add(e.size_bytes());
            if !out.is_empty() && size > max_bytes {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.snap_index() {
            return Err(Error::Compacted { index: first.index });
        }
        if first.index > self.last_index()?.next() {
            return Err(Error::InvalidArgument {
                reason: "append leaves a gap after the last index",
                index: first.index,
            });
        }
        for (k, e) in entries.iter().enumerate() {
            if e.index != first.index.plus(k as u64) {
                return Err(Error::InvalidArgument {
                    reason: "appended entries are not consecutive",
                    index: e.index,
                });
            }
        }
        let keep = self.offset_of(first.index);
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    fn compact(&mut self, snapshot: Snapshot) -> Result<()> {
        let index = snapshot.metadata.index;
        if index <= self.snap_index() {
            return Err(Error::SnapshotOutOfDate {
                index,
                current: self.snap_index(),
            });
        }
        if self.term(index)? != snapshot.metadata.term {
            return Err(Error::InvalidArgument {
                reason: "snapshot term does not match the log",
                index,
            });
        }
        let drop = self.offset_of(index) + 1;
        self.entries.drain(..drop);
        self.snapshot = snapshot;
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        let index = snapshot.metadata.index;
        if index <= self.snap_index() {
            return Err(Error::SnapshotOutOfDate {
                index,
                current: self.snap_index(),
            });
        }
        self.entries.clear();
        self.snapshot = snapshot;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_log_store_passes_the_conformance_suite() {
        crate::conformance::run_all(MemLogStore::new);
    }
}
