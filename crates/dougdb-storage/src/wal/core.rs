//! The WAL's shared state and its three locks, plus helpers every WAL operation uses.
//!
//! Lock order, always: `io` then `state` then `sync`; `sync` is a leaf (nothing is locked
//! while holding it). `state` (the append lock) is held only for memory work, never across
//! an fsync; `io` is held by whoever writes or reshapes the files (the group-commit
//! leader, a backpressure write, `truncate_from`, `drop_before`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use super::WalOptions;
use super::segment::segment_file_name;
use crate::error::{Error, Result};
use crate::fs::{ReadableFile, SharedFs, WritableFile};

/// Pending bytes past which an appender writes them out itself (without fsync), so the
/// in-memory buffer stays bounded when nobody asks for durability.
pub(super) const PENDING_WRITE_BYTES: usize = 4 << 20;

/// Largest buffer kept for reuse between batches; bigger ones are freed.
pub(super) const SPARE_CAPACITY_MAX: usize = 4 << 20;

/// A segment file that exists on disk, as seen by readers.
#[derive(Debug, Clone)]
pub(super) struct SegmentRef {
    /// Global position of the segment's first record.
    pub start: u64,
    pub path: PathBuf,
    /// Kept open so a reader racing `drop_before` still reads the unlinked file.
    pub file: Arc<dyn ReadableFile>,
}

/// Bytes handed to the group-commit leader and not yet known to be in the file; readers
/// serve them from here meanwhile.
#[derive(Debug)]
pub(super) struct Inflight {
    pub start: u64,
    pub bytes: Arc<Vec<u8>>,
}

/// Everything appenders and readers share, behind the append lock.
#[derive(Debug)]
pub(super) struct AppendState {
    /// First retained position.
    pub first: u64,
    /// Position the next record gets.
    pub end: u64,
    /// Records below this are in segment files (written, maybe not synced).
    pub written_end: u64,
    /// Segment files by start. The last is the one being written.
    pub segments: BTreeMap<u64, SegmentRef>,
    /// Encoded frames of `[pending_start, end)`, not yet handed to a writer.
    pub pending: Vec<u8>,
    pub pending_start: u64,
    pub inflight: Option<Inflight>,
    /// Positions in `[pending_start, end)` where a new segment must begin; the appender
    /// decides (it knows sizes), the writer performs the file work.
    pub rolls: Vec<u64>,
    /// Start of the segment the next record lands in, counting pending rolls.
    pub tail_segment_start: u64,
    /// Set after a failed write or fsync: the WAL refuses writes from then on, because
    /// after a failed fsync the kernel may have dropped dirty pages (retrying would lie).
    pub poisoned: Option<String>,
    /// A cleared buffer kept to avoid reallocating `pending` each batch.
    pub spare: Vec<u8>,
}

impl AppendState {
    /// Checks the bookkeeping invariants that reads rely on.
    pub fn assert_consistent(&self) {
        assert!(self.first <= self.written_end && self.written_end <= self.pending_start);
        assert!(self.pending_start + self.pending.len() as u64 == self.end);
        match &self.inflight {
            Some(inflight) => {
                assert!(inflight.start == self.written_end);
                assert!(inflight.start + inflight.bytes.len() as u64 == self.pending_start);
            }
            None => assert!(self.written_end == self.pending_start),
        }
    }
}

/// The file being appended to; only touched under the `io` lock.
#[derive(Debug)]
pub(super) struct IoState {
    pub file: Arc<dyn WritableFile>,
    pub start: u64,
    pub path: PathBuf,
}

/// Group-commit coordination.
#[derive(Debug, Default)]
pub(super) struct SyncState {
    /// A thread is writing and fsyncing on everyone's behalf.
    pub leader: bool,
    pub failed: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub appends: AtomicU64,
    pub syncs: AtomicU64,
    pub bytes_appended: AtomicU64,
}

/// The WAL proper; `Wal` and `WalIter` hold it through an `Arc`.
#[derive(Debug)]
pub(super) struct Shared {
    pub fs: SharedFs,
    pub dir: PathBuf,
    pub opts: WalOptions,
    pub io: Mutex<IoState>,
    pub state: Mutex<AppendState>,
    pub sync: Mutex<SyncState>,
    pub sync_cv: Condvar,
    /// End of the durable prefix; only changed under `io`, so a leader's raise and a
    /// truncation's lowering cannot interleave.
    pub durable: AtomicU64,
    pub counters: Counters,
}

pub(super) fn closed(reason: &str) -> Error {
    Error::Closed {
        reason: reason.to_owned(),
    }
}

impl Shared {
    pub fn segment_path(&self, start: u64) -> PathBuf {
        self.dir.join(segment_file_name(start))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// fsyncs a file, counting it.
    pub fn sync_file(&self, file: &dyn WritableFile) -> Result<()> {
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        file.sync()
    }

    /// fsyncs the WAL directory (names), counting it.
    pub fn sync_dir(&self) -> Result<()> {
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        self.fs.sync_dir(&self.dir)
    }

    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Stops all further writes after `err`, and wakes group-commit waiters so they see it.
    /// Caller holds neither `state` nor `sync`.
    pub fn poison(&self, err: &Error) {
        let reason = format!("the WAL stopped accepting writes after an I/O failure: {err}");
        {
            let mut st = self.state.lock();
            if st.poisoned.is_none() {
                st.poisoned = Some(reason.clone());
            }
        }
        let mut sync = self.sync.lock();
        if sync.failed.is_none() {
            sync.failed = Some(reason);
        }
        self.sync_cv.notify_all();
    }

    pub fn out_of_range(&self, position: u64) -> Error {
        let st = self.state.lock();
        Error::OutOfRange {
            position,
            first: st.first,
            end: st.end,
        }
    }
}
