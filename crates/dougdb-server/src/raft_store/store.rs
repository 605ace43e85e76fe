//! [`WalLogStore`]: the in-memory index over the WAL records of a Raft log, and the
//! `LogStore` implementation (layout and crash argument in `mod.rs`).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_raft::{
    ConfState, ENTRY_OVERHEAD_BYTES, Entry, HardState, LogIndex, LogStore, Snapshot,
    SnapshotMetadata, SnapshotRead, Term,
};
use dougdb_storage::fs::{ReadableFile, SharedFs};
use dougdb_storage::wal::{Position, Wal, WalOptions};

use super::meta::{self, Meta};
use super::record::{self, LogRecord};
use crate::error::{Error, Result};

/// How a [`WalLogStore`] is opened.
#[derive(Clone, Copy, Debug, Default)]
pub struct RaftStoreOptions {
    /// Options of the underlying WAL.
    pub wal: WalOptions,
    /// `append` / `set_hard_state` do not fsync; the caller calls [`WalLogStore::sync`].
    pub deferred_sync: bool,
}

/// Where an entry's record sits and what Raft asks about it without reading it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub pos: Position,
    pub term: Term,
    pub data_len: u64,
}

/// A `LogStore` on a WAL (see the module docs of `raft_store`).
#[derive(Debug)]
pub struct WalLogStore {
    pub(super) fs: SharedFs,
    pub(super) dir: PathBuf,
    pub(super) wal: Arc<Wal>,
    /// The metadata file as last written.
    pub(super) meta: Meta,
    /// Current hard state (durable unless a deferred sync is outstanding).
    pub(super) hard_state: HardState,
    pub(super) snap_data: Option<Arc<dyn ReadableFile>>,
    /// `slots[k]` is entry `meta.snapshot.index + 1 + k`.
    pub(super) slots: VecDeque<Slot>,
    pub(super) deferred_sync: bool,
}

fn raft_err(e: Error) -> dougdb_raft::Error {
    e.into_raft()
}

impl WalLogStore {
    /// Opens (creating if needed) the Raft log in `dir` on `fs`, recovering the WAL.
    pub fn open(fs: SharedFs, dir: &Path, opts: RaftStoreOptions) -> Result<WalLogStore> {
        super::replay::open(fs, dir, opts)
    }

    /// Gives a brand-new group its initial membership (a snapshot at index 0). Refused
    /// unless the store is empty and was never bootstrapped.
    pub fn bootstrap(&mut self, conf_state: ConfState) -> Result<()> {
        let fresh = self.meta == Meta::default()
            && self.slots.is_empty()
            && self.hard_state == HardState::default();
        if !fresh {
            return Err(Error::InvalidArgument {
                reason: format!("{} already holds a Raft log", self.dir.display()),
            });
        }
        self.meta.snapshot.conf_state = conf_state;
        self.meta.log_start = self.wal.end_position();
        meta::write(&self.fs, &self.dir, &self.meta)
    }

    /// Makes every earlier write durable (one fsync shared with concurrent callers).
    pub fn sync(&self) -> Result<()> {
        Ok(self.wal.sync()?)
    }

    /// The WAL, for `wait_durable` from another thread (group commit in parallel with
    /// replication).
    pub fn wal(&self) -> &Arc<Wal> {
        &self.wal
    }

    /// Switches deferred sync on or off (see [`RaftStoreOptions::deferred_sync`]).
    pub fn set_deferred_sync(&mut self, on: bool) {
        self.deferred_sync = on;
    }

    /// The group's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored snapshot, data included (read from its file).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut data = vec![0u8; usize::try_from(self.meta.snapshot_len).unwrap_or(0)];
        if let Some(f) = &self.snap_data {
            f.read_exact_at(&mut data, 0)?;
        }
        Ok(Snapshot {
            metadata: self.meta.snapshot.clone(),
            data,
        })
    }

    fn snap_index(&self) -> LogIndex {
        self.meta.snapshot.index
    }

    fn last(&self) -> LogIndex {
        self.snap_index().plus(self.slots.len() as u64)
    }

    fn slot(&self, index: LogIndex) -> Option<&Slot> {
        let k = index.0.checked_sub(self.snap_index().0)?.checked_sub(1)?;
        self.slots.get(usize::try_from(k).ok()?)
    }

    fn maybe_sync(&self) -> Result<()> {
        if self.deferred_sync {
            Ok(())
        } else {
            self.sync()
        }
    }

    fn corrupt(&self, pos: Position, reason: &'static str) -> Error {
        Error::CorruptLogRecord {
            dir: self.wal.dir().to_path_buf(),
            position: pos.0,
            reason,
        }
    }

    fn read_entry(&self, index: LogIndex, slot: &Slot) -> Result<Entry> {
        let (payload, _) = self.wal.read(slot.pos)?;
        match record::decode(&payload) {
            Ok(LogRecord::Entry(e)) if e.index == index && e.term == slot.term => Ok(e),
            Ok(_) => Err(self.corrupt(slot.pos, "record is not the indexed entry")),
            Err(reason) => Err(self.corrupt(slot.pos, reason)),
        }
    }

    fn append_entries(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.snap_index() {
            return Err(dougdb_raft::Error::Compacted { index: first.index }.into());
        }
        if first.index > self.last().next() {
            return Err(dougdb_raft::Error::InvalidArgument {
                reason: "append leaves a gap after the last index",
                index: first.index,
            }
            .into());
        }
        let mut payloads = Vec::with_capacity(entries.len());
        for (k, e) in entries.iter().enumerate() {
            if e.index != first.index.plus(k as u64) {
                return Err(dougdb_raft::Error::InvalidArgument {
                    reason: "appended entries are not consecutive",
                    index: e.index,
                }
                .into());
            }
            let mut buf = Vec::new();
            record::encode_entry(e, &mut buf);
            payloads.push(buf);
        }
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let positions = self.wal.append_batch(&refs)?;
        let keep = (first.index.0 - self.snap_index().0 - 1) as usize;
        self.slots.truncate(keep);
        for (e, pos) in entries.iter().zip(positions) {
            self.slots.push_back(Slot {
                pos,
                term: e.term,
                data_len: e.data.len() as u64,
            });
        }
        self.maybe_sync()
    }

    fn write_hard_state(&mut self, hs: &HardState) -> Result<()> {
        self.wal.append(&record::encode_hard_state(hs))?;
        self.hard_state = hs.clone();
        self.maybe_sync()
    }

    /// Stores `snapshot` as the new compaction point, keeping the entries after it
    /// (`keep_entries`) or none (installation).
    fn store_snapshot(&mut self, snapshot: Snapshot, keep_entries: bool) -> Result<()> {
        let index = snapshot.metadata.index;
        // Everything appended so far (hard states included) is durable before the
        // metadata names a new log start, so no surviving record is older than `hs`.
        self.wal.sync()?;
        let (snapshot_len, snapshot_crc) =
            meta::write_snapshot_data(&self.fs, &self.dir, &snapshot.metadata, &snapshot.data)?;
        let drop = if keep_entries {
            (index.0 - self.snap_index().0) as usize
        } else {
            self.slots.len()
        };
        let log_start = self
            .slots
            .get(drop)
            .map_or_else(|| self.wal.end_position(), |s| s.pos);
        let new_meta = Meta {
            log_start,
            hard_state: self.hard_state.clone(),
            snapshot: snapshot.metadata,
            snapshot_len,
            snapshot_crc,
        };
        meta::write(&self.fs, &self.dir, &new_meta)?;
        self.meta = new_meta;
        self.slots.drain(..drop);
        self.snap_data = meta::open_snapshot_data(&self.fs, &self.dir, &self.meta)?;
        self.wal.drop_before(log_start)?;
        meta::remove_stale(&self.fs, &self.dir, &self.meta)
    }

    fn check_newer(&self, index: LogIndex) -> Result<()> {
        if index <= self.snap_index() {
            return Err(dougdb_raft::Error::SnapshotOutOfDate {
                index,
                current: self.snap_index(),
            }
            .into());
        }
        Ok(())
    }
}

impl LogStore for WalLogStore {
    fn hard_state(&self) -> dougdb_raft::Result<HardState> {
        Ok(self.hard_state.clone())
    }

    fn set_hard_state(&mut self, hs: &HardState) -> dougdb_raft::Result<()> {
        self.write_hard_state(hs).map_err(raft_err)
    }

    fn snapshot_metadata(&self) -> dougdb_raft::Result<SnapshotMetadata> {
        Ok(self.meta.snapshot.clone())
    }

    fn snapshot_read(&self, offset: u64, max_bytes: u64) -> dougdb_raft::Result<SnapshotRead> {
        let len = self.meta.snapshot_len;
        let start = offset.min(len);
        let end = start.saturating_add(max_bytes.max(1)).min(len);
        let mut data = vec![0u8; (end - start) as usize];
        if let (Some(f), false) = (&self.snap_data, data.is_empty()) {
            f.read_exact_at(&mut data, start)
                .map_err(|e| raft_err(e.into()))?;
        }
        Ok(SnapshotRead {
            data,
            done: end == len,
        })
    }

    fn first_index(&self) -> dougdb_raft::Result<LogIndex> {
        Ok(self.snap_index().next())
    }

    fn last_index(&self) -> dougdb_raft::Result<LogIndex> {
        Ok(self.last())
    }

    fn term(&self, index: LogIndex) -> dougdb_raft::Result<Term> {
        if index == self.snap_index() {
            return Ok(self.meta.snapshot.term);
        }
        if index < self.snap_index() {
            return Err(dougdb_raft::Error::Compacted { index });
        }
        self.slot(index)
            .map(|s| s.term)
            .ok_or(dougdb_raft::Error::Unavailable { index })
    }

    fn entries(
        &self,
        lo: LogIndex,
        hi: LogIndex,
        max_bytes: u64,
    ) -> dougdb_raft::Result<Vec<Entry>> {
        if lo <= self.snap_index() {
            return Err(dougdb_raft::Error::Compacted { index: lo });
        }
        if hi > self.last().next() {
            return Err(dougdb_raft::Error::Unavailable { index: hi.prev() });
        }
        let mut out = Vec::new();
        let mut size = 0u64;
        let mut i = lo;
        while i < hi {
            let Some(slot) = self.slot(i) else {
                return Err(dougdb_raft::Error::Unavailable { index: i });
            };
            size = size.saturating_add(slot.data_len + ENTRY_OVERHEAD_BYTES);
            if !out.is_empty() && size > max_bytes {
                break;
            }
            out.push(self.read_entry(i, slot).map_err(raft_err)?);
            i = i.next();
        }
        Ok(out)
    }

    fn append(&mut self, entries: &[Entry]) -> dougdb_raft::Result<()> {
        self.append_entries(entries).map_err(raft_err)
    }

    fn compact(&mut self, snapshot: Snapshot) -> dougdb_raft::Result<()> {
        let index = snapshot.metadata.index;
        self.check_newer(index).map_err(raft_err)?;
        if self.term(index)? != snapshot.metadata.term {
            return Err(dougdb_raft::Error::InvalidArgument {
                reason: "snapshot term does not match the log",
                index,
            });
        }
        self.store_snapshot(snapshot, true).map_err(raft_err)
    }

    fn install_snapshot(&mut self, snapshot: Snapshot) -> dougdb_raft::Result<()> {
        self.check_newer(snapshot.metadata.index)
            .map_err(raft_err)?;
        self.store_snapshot(snapshot, false).map_err(raft_err)
    }
}
