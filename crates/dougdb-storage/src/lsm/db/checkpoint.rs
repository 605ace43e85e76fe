//! Checkpoints: a consistent set of a database's tables, pinned so compaction cannot
//! delete them while they are read ([`Db::checkpoint`]), and the other side: replacing
//! the whole content of a database with received tables ([`Db::ingest_checkpoint`]).
//!
//! Ingest protocol (each step durable before the next; see docs/storage.md):
//! 1. writes are held off (writer lock), queued memtables finish flushing, compactions
//!    take no new turn (compaction lock);
//! 2. every received table is written under a fresh file number, fsynced, then opened
//!    and read end to end (every block CRC, key order, counts against its properties);
//!    any failure deletes the new files and leaves the database untouched;
//! 3. the directory is fsynced, and a new manifest holding only the new tables (and the
//!    checkpoint's applied index and sequence) is written, fsynced, and named by CURRENT
//!    (tmp, fsync, rename, fsync dir): the rename is the commit point;
//! 4. only then are the old tables marked obsolete (deleted once no reader holds them),
//!    the memtable dropped and the old manifest removed.
//!
//! A crash before the CURRENT rename is durable reopens the old state (the new tables
//! are orphans, deleted at open); after it, the new state (the old tables are orphans).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Db;
use super::inner::{Inner, Writer};
use crate::error::{Error, Result};
use crate::fs::SharedFs;
use crate::lsm::iter::InternalIterator;
use crate::lsm::key::{self, ValueKind};
use crate::lsm::manifest::{LEVELS_MAX, ManifestWriter, TableMeta, VersionEdit};
use crate::lsm::memtable::Memtable;
use crate::lsm::policy::TableId;
use crate::lsm::sst::SstReader;
use crate::lsm::version::{Table, Version, table_file_name};

/// Most tables one ingest accepts (a bound on work and memory; a real tree has far fewer).
pub const INGEST_TABLES_MAX: usize = 100_000;

/// A consistent, pinned view of a database's tables: everything written before
/// [`Db::checkpoint`] returned, flushed. Holding it keeps the files alive (a compaction
/// that replaces them defers their deletion until the checkpoint drops).
#[derive(Debug)]
pub struct Checkpoint {
    version: Arc<Version>,
    fs: SharedFs,
    applied_index: u64,
    last_seq: u64,
}

/// One table of a [`Checkpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointTable {
    /// Level of the tree the table is in.
    pub level: u32,
    /// The table's id in the source database.
    pub id: TableId,
    /// File name in the source database (e.g. `000012.sst`).
    pub name: String,
    /// File size.
    pub size_bytes: u64,
}

impl Checkpoint {
    /// Applied index persisted with these tables (`wal = false` databases).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// Every sequence number in these tables is <= this.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The tables, level by level (level 0 newest first, deeper levels in key order).
    pub fn tables(&self) -> Vec<CheckpointTable> {
        self.pinned()
            .map(|(level, t)| CheckpointTable {
                level,
                id: t.meta.id,
                name: table_file_name(t.meta.id),
                size_bytes: t.meta.size_bytes,
            })
            .collect()
    }

    /// Sum of the tables' sizes.
    pub fn size_bytes(&self) -> u64 {
        self.pinned().map(|(_, t)| t.meta.size_bytes).sum()
    }

    /// Appends the bytes of table number `i` (of [`Checkpoint::tables`]) to `out`.
    pub fn read_table_into(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let Some((_, t)) = self.pinned().nth(i) else {
            return Err(Error::invalid(format!(
                "checkpoint has no table number {i}"
            )));
        };
        let file = self.fs.open_read(t.path())?;
        let len = file.len()?;
        if len != t.meta.size_bytes {
            return Err(Error::corruption(
                t.path(),
                0,
                format!(
                    "table is {len} bytes, the manifest says {}",
                    t.meta.size_bytes
                ),
            ));
        }
        let len = usize::try_from(len)
            .map_err(|_| Error::invalid(format!("{} is too large", t.path().display())))?;
        let start = out.len();
        out.resize(start + len, 0);
        file.read_exact_at(&mut out[start..], 0)
    }

    fn pinned(&self) -> impl Iterator<Item = (u32, &Arc<Table>)> {
        self.version
            .levels
            .iter()
            .enumerate()
            .flat_map(|(l, ts)| ts.iter().map(move |t| (l as u32, t)))
    }
}

/// One received table to ingest.
#[derive(Debug, Clone, Copy)]
pub struct IngestTable<'a> {
    /// Level to place it in (< 7). Tables of one level above 0 must not overlap.
    pub level: u32,
    /// The whole SSTable file.
    pub bytes: &'a [u8],
}

/// A received checkpoint: the new whole content of the database.
#[derive(Debug, Clone, Default)]
pub struct IngestCheckpoint<'a> {
    /// The tables.
    pub tables: Vec<IngestTable<'a>>,
    /// Applied index to persist with them (`wal = false`).
    pub applied_index: u64,
    /// Highest sequence number in the tables (the source checkpoint's `last_seq`).
    pub last_seq: u64,
}

impl Db {
    /// Flushes the memtable and pins the tables of the current version, with the
    /// applied index and last sequence persisted with them.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        self.flush()?;
        // Under the manifest lock the version and the persisted counters belong together.
        let man = self.inner.manifest.lock();
        let version = Arc::clone(&self.inner.state.lock().version);
        Ok(Checkpoint {
            version,
            fs: Arc::clone(&self.inner.opts.fs),
            applied_index: man.applied_index,
            last_seq: man.last_seq,
        })
    }

    /// Replaces the whole content of the database with `ck`'s tables, atomically and
    /// crash-safely (see the module docs). Writes not yet flushed are discarded. On a
    /// checksum or format error in a table, nothing changes and `Corruption` is returned.
    pub fn ingest_checkpoint(&self, ck: &IngestCheckpoint<'_>) -> Result<()> {
        self.inner.ingest(ck)
    }
}

impl Inner {
    fn ingest(&self, ck: &IngestCheckpoint<'_>) -> Result<()> {
        if ck.tables.len() > INGEST_TABLES_MAX {
            return Err(Error::invalid(format!(
                "checkpoint of {} tables is over the limit of {INGEST_TABLES_MAX}",
                ck.tables.len()
            )));
        }
        if let Some(t) = ck.tables.iter().find(|t| t.level >= LEVELS_MAX) {
            return Err(Error::invalid(format!(
                "table level {} out of range",
                t.level
            )));
        }
        let mut w = self.writer.lock();
        self.check_open()?;
        self.wait_imm_flushed()?;
        let _turn = self.compaction_lock.lock();
        let written = self.write_tables(&ck.tables)?;
        let version = match self.build_version(&written) {
            Ok(v) => v,
            Err(e) => {
                self.remove_tables(&written);
                return Err(e);
            }
        };
        let seq_max = written.iter().map(|(_, t)| t.meta.largest_seq).max();
        let last_seq = w.last_seq.max(ck.last_seq).max(seq_max.unwrap_or(0));
        self.swap_in(&mut w, version, ck.applied_index, last_seq)?;
        drop(w);
        self.cond.notify_all();
        Ok(())
    }

    /// Steps 3 and 4 of the protocol: commits `version` as the whole tree (new manifest,
    /// CURRENT), then installs it and retires the old tables and manifest.
    fn swap_in(
        &self,
        w: &mut Writer,
        version: Version,
        applied_index: u64,
        last_seq: u64,
    ) -> Result<()> {
        let mut man = self.manifest.lock();
        let log_position = match &self.wal {
            Some(wal) => wal.end_position().0,
            None => man.log_position,
        };
        let number = self.next_file.fetch_add(1, Ordering::AcqRel);
        let mut snap = version.snapshot_edit();
        snap.next_file = Some(self.next_file.load(Ordering::Acquire));
        snap.last_seq = Some(last_seq);
        snap.applied_index = Some(applied_index);
        snap.log_position = Some(log_position);
        let fs = self.opts.fs.as_ref();
        let writer = match ManifestWriter::create(fs, &self.dir, number, &snap) {
            Ok(m) => m,
            Err(e) => {
                // CURRENT may or may not name the new manifest: only a reopen knows.
                self.fail("checkpoint ingest", &e);
                return Err(e);
            }
        };
        // Committed. Install in memory, then retire the old files.
        let old_manifest = std::mem::replace(&mut man.writer, writer);
        man.last_seq = last_seq;
        man.applied_index = applied_index;
        man.log_position = log_position;
        self.applied_index.store(applied_index, Ordering::Release);
        let fresh = Arc::new(Memtable::with_capacity(
            w.next_mem_id,
            self.opts.memtable_size_bytes,
        ));
        w.next_mem_id += 1;
        w.mem = Arc::clone(&fresh);
        w.last_seq = last_seq;
        let old = {
            let mut st = self.state.lock();
            let old = std::mem::replace(&mut st.version, Arc::new(version));
            st.mem = fresh;
            st.imm.clear();
            st.tree_changes += 1;
            self.install(&st);
            old
        };
        self.snapshots
            .visible_seq
            .fetch_max(last_seq, Ordering::AcqRel);
        for t in old.levels.iter().flatten() {
            t.mark_obsolete();
        }
        drop(old);
        if let Err(e) = fs.remove_file(old_manifest.path()) {
            tracing::warn!(error = %e, "could not delete the manifest replaced by an ingest");
        }
        drop(man);
        if let Some(wal) = &self.wal {
            wal.drop_before(crate::wal::Position(log_position))?;
        }
        Ok(())
    }

    /// Waits (writer lock held, so none are added) until no memtable awaits its flush:
    /// a flush finishing after the ingest would add old data to the new tree.
    fn wait_imm_flushed(&self) -> Result<()> {
        let mut st = self.state.lock();
        while !st.imm.is_empty() {
            if let Some(reason) = &st.bg_error {
                return Err(Error::Closed {
                    reason: reason.clone(),
                });
            }
            if st.shutdown {
                return Err(Error::Closed {
                    reason: "closed during a checkpoint ingest".to_owned(),
                });
            }
            self.cond.wait(&mut st);
        }
        Ok(())
    }

    /// Writes, fsyncs and verifies every table under a fresh number, then fsyncs the
    /// directory. On error the files written so far are removed.
    fn write_tables(&self, tables: &[IngestTable<'_>]) -> Result<Vec<(u32, Arc<Table>)>> {
        let mut out = Vec::with_capacity(tables.len());
        for (i, t) in tables.iter().enumerate() {
            let id = TableId(self.next_file.fetch_add(1, Ordering::AcqRel));
            match self.write_table(i, id, t.bytes) {
                Ok(table) => out.push((t.level, table)),
                Err(e) => {
                    let path = self.factory.path(id);
                    if self.opts.fs.exists(&path) {
                        let _ = self.opts.fs.remove_file(&path);
                    }
                    self.remove_tables(&out);
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.opts.fs.sync_dir(&self.dir) {
            self.remove_tables(&out);
            return Err(e);
        }
        Ok(out)
    }

    fn write_table(&self, i: usize, id: TableId, bytes: &[u8]) -> Result<Arc<Table>> {
        let path = self.factory.path(id);
        let fs = &self.opts.fs;
        let file = fs.create(&path)?;
        file.append(bytes)?;
        file.sync()?;
        drop(file);
        let reader = SstReader::open(Arc::clone(fs), &path, id, None)?;
        verify_table(&reader).map_err(|e| match e {
            Error::Corruption {
                file,
                offset,
                reason,
            } => Error::corruption(file, offset, format!("checkpoint table {i}: {reason}")),
            other => other,
        })?;
        let info = reader.info();
        let meta = TableMeta {
            id,
            size_bytes: bytes.len() as u64,
            entries: info.entries,
            tombstones: info.tombstones,
            smallest_key: info.smallest_key.clone(),
            largest_key: info.largest_key.clone(),
            smallest_seq: info.smallest_seq,
            largest_seq: info.largest_seq,
        };
        self.factory.open(&meta)
    }

    /// The version of `tables`, checked for the invariants readers rely on.
    fn build_version(&self, tables: &[(u32, Arc<Table>)]) -> Result<Version> {
        let mut edit = VersionEdit::default();
        let by_id: HashMap<TableId, &Arc<Table>> =
            tables.iter().map(|(_, t)| (t.meta.id, t)).collect();
        for (level, t) in tables {
            edit.adds.push((*level, t.meta.clone()));
        }
        let version = Version::default().apply(&edit, &mut |meta| {
            by_id
                .get(&meta.id)
                .map(|t| Arc::clone(t))
                .ok_or_else(|| Error::invalid(format!("table {} not written", meta.id.0)))
        })?;
        for (level, ts) in version.levels.iter().enumerate().skip(1) {
            for pair in ts.windows(2) {
                if pair[0].hi >= pair[1].lo {
                    return Err(Error::corruption(
                        pair[1].path(),
                        0,
                        format!("checkpoint tables overlap in level {level}"),
                    ));
                }
            }
        }
        Ok(version)
    }

    /// Deletes tables written by a failed ingest (best effort: orphans go at next open).
    fn remove_tables(&self, tables: &[(u32, Arc<Table>)]) {
        for (_, t) in tables {
            t.mark_obsolete();
        }
    }
}

/// Reads a whole table: every data block's CRC, keys strictly increasing in internal
/// order, and the entry count, tombstones, key and sequence range as its properties say.
fn verify_table(reader: &Arc<SstReader>) -> Result<()> {
    let info = reader.info().clone();
    let bad = |reason: String| Error::corruption(reader.path(), 0, reason);
    let mut it = reader.iter_without_caching();
    it.seek_to_first()?;
    let (mut entries, mut tombstones) = (0u64, 0u64);
    let mut last = Vec::new();
    while it.valid() {
        let k = it.key();
        let parsed = key::decode(k).ok_or_else(|| bad("undecodable internal key".into()))?;
        if parsed.seq.0 < info.smallest_seq || parsed.seq.0 > info.largest_seq {
            return Err(bad("sequence number outside the table's range".into()));
        }
        if entries > 0 && key::compare(&last, k) != std::cmp::Ordering::Less {
            return Err(bad("keys out of order".into()));
        }
        if entries == 0 && k != info.smallest_key.as_slice() {
            return Err(bad(
                "first key differs from the recorded smallest key".into()
            ));
        }
        entries += 1;
        tombstones += u64::from(parsed.kind == ValueKind::Delete);
        last.clear();
        last.extend_from_slice(k);
        it.next()?;
    }
    if entries == 0 {
        return Err(bad("empty table".into()));
    }
    if last != info.largest_key {
        return Err(bad("last key differs from the recorded largest key".into()));
    }
    if (entries, tombstones) != (info.entries, info.tombstones) {
        return Err(bad(format!(
            "{entries} entries ({tombstones} tombstones) read, properties say {} ({})",
            info.entries, info.tombstones
        )));
    }
    Ok(())
}
