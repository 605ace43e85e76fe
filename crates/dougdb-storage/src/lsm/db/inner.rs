//! The shared state of an open database, its locks, and the one way the tree changes:
//! [`Inner::log_and_apply`] (edit made durable in the manifest, then installed).
//!
//! Lock order: `writer` -> `manifest` -> `state` -> `current`. Background threads never
//! take `writer`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};

use super::snapshot::SnapshotList;
use crate::error::{Error, Result};
use crate::lsm::flush::TableFactory;
use crate::lsm::manifest::{ManifestWriter, ROLL_SIZE_BYTES, VersionEdit, manifest_name};
use crate::lsm::memtable::Memtable;
use crate::lsm::options::Options;
use crate::lsm::policy::TableId;
use crate::lsm::stats::Counters;
use crate::lsm::version::{Table, Version};
use crate::wal::Wal;

/// What readers need: every memtable and the tables, captured together.
#[derive(Debug)]
pub struct SuperVersion {
    /// The active memtable.
    pub mem: Arc<Memtable>,
    /// Immutable memtables, newest first.
    pub imm: Vec<Arc<Memtable>>,
    /// The tables.
    pub version: Arc<Version>,
}

/// An immutable memtable waiting for flush.
#[derive(Debug, Clone)]
pub struct Imm {
    /// The memtable.
    pub mem: Arc<Memtable>,
    /// WAL end when it was switched: recovery after its flush starts here.
    pub log_end: u64,
}

/// The writer's side: serialises writes.
#[derive(Debug)]
pub struct Writer {
    /// The active memtable.
    pub mem: Arc<Memtable>,
    /// Last sequence number allocated.
    pub last_seq: u64,
    /// Id of the next memtable.
    pub next_mem_id: u64,
}

/// Background and shape state, under `Inner::state`.
#[derive(Debug)]
pub struct State {
    /// The active memtable (mirrors `Writer::mem`, for super versions).
    pub mem: Arc<Memtable>,
    /// Oldest first.
    pub imm: VecDeque<Imm>,
    /// The current tables.
    pub version: Arc<Version>,
    /// Tables in a running compaction.
    pub compacting: HashSet<TableId>,
    /// Set once a background job failed; writes are refused from then on.
    pub bg_error: Option<String>,
    /// Set by close: background threads exit.
    pub shutdown: bool,
    /// Highest memtable id flushed (flushes go oldest first).
    pub flushed_mem_id: u64,
    /// Bumped whenever the tree changes, to wake the compaction thread.
    pub tree_changes: u64,
}

/// The manifest and the counters it persists.
#[derive(Debug)]
pub struct ManifestState {
    /// The open manifest.
    pub writer: ManifestWriter,
    /// Persisted last sequence.
    pub last_seq: u64,
    /// Persisted applied index.
    pub applied_index: u64,
    /// Persisted WAL replay position.
    pub log_position: u64,
}

/// Everything an open database shares between handles and threads.
#[derive(Debug)]
pub struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) opts: Options,
    pub(crate) factory: TableFactory,
    pub(crate) wal: Option<Wal>,
    pub(crate) writer: Mutex<Writer>,
    pub(crate) state: Mutex<State>,
    pub(crate) cond: Condvar,
    pub(crate) current: RwLock<Arc<SuperVersion>>,
    pub(crate) snapshots: Arc<SnapshotList>,
    pub(crate) manifest: Mutex<ManifestState>,
    pub(crate) next_file: AtomicU64,
    pub(crate) applied_index: AtomicU64,
    pub(crate) failed: AtomicBool,
    pub(crate) l0_tables: AtomicUsize,
    pub(crate) counters: Counters,
    /// Held while a compaction picks and runs, so manual and background ones take turns.
    pub(crate) compaction_lock: Mutex<()>,
}

impl Inner {
    /// Rebuilds the readers' view from `st`.
    pub fn install(&self, st: &State) {
        let sv = SuperVersion {
            mem: Arc::clone(&st.mem),
            imm: st.imm.iter().rev().map(|i| Arc::clone(&i.mem)).collect(),
            version: Arc::clone(&st.version),
        };
        self.l0_tables
            .store(st.version.levels[0].len(), Ordering::Release);
        *self.current.write() = Arc::new(sv);
    }

    /// The readers' view.
    pub fn super_version(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.current.read())
    }

    /// Records a fatal background failure: writes are refused from now on.
    pub fn fail(&self, what: &str, err: &Error) {
        let reason = format!("{what} failed: {err}");
        tracing::error!(dir = %self.dir.display(), %reason, "storage stops accepting writes");
        let mut st = self.state.lock();
        if st.bg_error.is_none() {
            st.bg_error = Some(reason);
        }
        self.failed.store(true, Ordering::Release);
        drop(st);
        self.cond.notify_all();
    }

    /// `Err(Closed)` if writes are refused.
    pub fn check_open(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let st = self.state.lock();
        let reason = st
            .bg_error
            .clone()
            .unwrap_or_else(|| "the database is closed".to_owned());
        Err(Error::Closed { reason })
    }

    /// Makes `edit` durable in the manifest, then installs the resulting version.
    /// `tables` supplies the already-open tables the edit adds. `finish` runs under the
    /// state lock after the version is installed (e.g. to retire a memtable).
    pub fn log_and_apply(
        &self,
        mut edit: VersionEdit,
        tables: &[Arc<Table>],
        finish: impl FnOnce(&mut State),
    ) -> Result<()> {
        let mut man = self.manifest.lock();
        edit.next_file = Some(self.next_file.load(Ordering::Acquire));
        let base = Arc::clone(&self.state.lock().version);
        let by_id: HashMap<TableId, &Arc<Table>> = tables.iter().map(|t| (t.meta.id, t)).collect();
        let next = base.apply(&edit, &mut |meta| {
            by_id.get(&meta.id).map(|t| Arc::clone(t)).ok_or_else(|| {
                Error::invalid(format!("table {} added without being opened", meta.id.0))
            })
        })?;
        man.writer.append(&edit)?;
        if let Some(v) = edit.last_seq {
            man.last_seq = man.last_seq.max(v);
        }
        if let Some(v) = edit.applied_index {
            man.applied_index = man.applied_index.max(v);
            self.applied_index
                .store(man.applied_index, Ordering::Release);
        }
        if let Some(v) = edit.log_position {
            man.log_position = man.log_position.max(v);
        }
        let next = Arc::new(next);
        {
            let mut st = self.state.lock();
            st.version = Arc::clone(&next);
            finish(&mut st);
            st.tree_changes += 1;
            self.install(&st);
        }
        self.cond.notify_all();
        if man.writer.size_bytes() > ROLL_SIZE_BYTES {
            self.roll_manifest(&mut man, &next)?;
        }
        Ok(())
    }

    /// Writes a fresh manifest holding `version` and the counters, and retires the old.
    pub fn roll_manifest(&self, man: &mut ManifestState, version: &Version) -> Result<()> {
        let number = self.next_file.fetch_add(1, Ordering::AcqRel);
        let mut snap = version.snapshot_edit();
        snap.next_file = Some(self.next_file.load(Ordering::Acquire));
        snap.last_seq = Some(man.last_seq);
        snap.applied_index = Some(man.applied_index);
        snap.log_position = Some(man.log_position);
        let fs = self.opts.fs.as_ref();
        let writer = ManifestWriter::create(fs, &self.dir, number, &snap)?;
        let old = std::mem::replace(&mut man.writer, writer);
        if let Err(e) = fs.remove_file(old.path()) {
            tracing::warn!(manifest = %manifest_name(old.number()), error = %e, "could not delete an old manifest");
        }
        Ok(())
    }
}
