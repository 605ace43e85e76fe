//! The write-ahead log: a segmented, CRC32-framed, append-only log with group commit.
//!
//! Records are framed ([`frame`]) into segment files ([`segment`]) named by the global
//! position of their first record. A [`Position`] is a byte offset in the log's record
//! space (segment headers excluded), so positions grow monotonically across segments and
//! stay valid after older segments are dropped.
//!
//! Appends go to an in-memory buffer under a short lock; durability comes from
//! [`Wal::sync`], [`Wal::wait_durable`] or [`Wal::append_durable`], which share fsyncs
//! between concurrent callers (group commit, see `writer.rs`). [`Wal::open`] recovers:
//! a torn tail is cut and reported in [`Recovery`], mid-log corruption is an
//! [`Error::Corruption`] (see `recovery.rs` and docs/wal.md for the exact rule).

mod core;
pub mod frame;
mod reader;
mod recovery;
pub mod segment;
mod trim;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use self::core::{AppendState, Counters, Shared, SyncState};
use self::frame::FRAME_HEADER_LEN;
use self::reader::{Chunk, READ_CHUNK_BYTES};
use self::segment::SEGMENT_HEADER_LEN;
use crate::error::{Error, Result};
use crate::fs::SharedFs;

pub use self::frame::{Frame, FrameError, decode_frame};
pub use self::reader::WalIter;

/// Tuning and limits of a WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment rolls over before a record would take it past this size (header
    /// included); a record larger than a segment gets a segment of its own.
    pub segment_size_bytes: u64,
    /// Largest payload accepted by `append`; larger ones are `InvalidArgument`.
    pub record_size_max_bytes: u32,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size_bytes: 64 << 20,
            record_size_max_bytes: 16 << 20,
        }
    }
}

/// Smallest segment size accepted: a header plus one one-byte record.
pub const SEGMENT_SIZE_MIN_BYTES: u64 = SEGMENT_HEADER_LEN + FRAME_HEADER_LEN as u64 + 1;

impl WalOptions {
    fn validate(&self) -> Result<()> {
        if self.segment_size_bytes < SEGMENT_SIZE_MIN_BYTES {
            return Err(Error::invalid(format!(
                "segment_size_bytes = {} is below the minimum {SEGMENT_SIZE_MIN_BYTES}",
                self.segment_size_bytes
            )));
        }
        if self.record_size_max_bytes == 0 {
            return Err(Error::invalid("record_size_max_bytes must be at least 1"));
        }
        Ok(())
    }
}

/// A record's place in the log: the global byte offset of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position(pub u64);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What [`Wal::open`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Valid records found (and kept).
    pub records: u64,
    /// End of the recovered log: where the next append goes.
    pub end: Position,
    /// Bytes cut from a torn tail (0 when the log was clean).
    pub truncated_bytes: u64,
    /// The segment that was cut, if any.
    pub truncated_segment: Option<PathBuf>,
}

/// Counters since open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub appends: u64,
    /// fsync calls issued (file and directory syncs, including those made by open).
    pub syncs: u64,
    /// Payload bytes appended (frame headers excluded).
    pub bytes_appended: u64,
}

/// A write-ahead log. `Send + Sync`: share it by reference or in an `Arc`.
///
/// Dropping it writes (without fsync) whatever is still buffered, as a buffered file
/// would; only synced records are promised to survive a crash.
#[derive(Debug)]
pub struct Wal {
    shared: Arc<Shared>,
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`, recovering it first.
    pub fn open(fs: SharedFs, dir: &Path, opts: WalOptions) -> Result<(Wal, Recovery)> {
        opts.validate()?;
        let recovered = recovery::recover(&fs, dir, &opts)?;
        let tail_segment_start = recovered.io.start;
        let state = AppendState {
            first: recovered.first,
            end: recovered.end,
            written_end: recovered.end,
            segments: recovered.segments,
            pending: Vec::new(),
            pending_start: recovered.end,
            inflight: None,
            rolls: Vec::new(),
            tail_segment_start,
            poisoned: None,
            spare: Vec::new(),
        };
        state.assert_consistent();
        let counters = Counters::default();
        counters.syncs.store(recovered.syncs, Ordering::Relaxed);
        let shared = Shared {
            fs,
            dir: dir.to_path_buf(),
            opts,
            io: Mutex::new(recovered.io),
            state: Mutex::new(state),
            sync: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            durable: AtomicU64::new(recovered.end),
            counters,
        };
        let wal = Wal {
            shared: Arc::new(shared),
        };
        Ok((wal, recovered.recovery))
    }

    /// Appends one record; it is not durable until a sync covers it.
    pub fn append(&self, payload: &[u8]) -> Result<Position> {
        let mut out = Vec::with_capacity(1);
        self.shared.append_all(std::iter::once(payload), &mut out)?;
        assert!(out.len() == 1, "one payload gives one position");
        Ok(out[0])
    }

    /// Appends all records or none, under one lock acquisition, in order.
    pub fn append_batch(&self, payloads: &[&[u8]]) -> Result<Vec<Position>> {
        let mut out = Vec::with_capacity(payloads.len());
        self.shared.append_all(payloads.iter().copied(), &mut out)?;
        Ok(out)
    }

    /// Hands every record appended before the call to the operating system (one write, no
    /// fsync): they survive a crash of this process, not a power cut. Cheap when nothing
    /// is pending.
    pub fn flush(&self) -> Result<()> {
        let mut io = self.shared.io.lock();
        self.shared.write_pending(&mut io, 0).map(|_| ())
    }

    /// Makes everything appended before the call durable.
    pub fn sync(&self) -> Result<()> {
        let end = self.shared.state.lock().end;
        self.shared.wait_durable_end(end)
    }

    /// Group commit: returns once the record at `upto` (and everything before it) is
    /// durable, joining an fsync in flight or leading the next one. `upto` equal to the
    /// end position means "everything appended so far".
    pub fn wait_durable(&self, upto: Position) -> Result<()> {
        let end = self.shared.state.lock().end;
        if upto.0 > end {
            return Err(self.shared.out_of_range(upto.0));
        }
        // The durable end only ever rests on a record boundary, so passing `upto` means
        // covering the whole record that starts there.
        let target = if upto.0 == end { end } else { upto.0 + 1 };
        self.shared.wait_durable_end(target)
    }

    /// Appends one record and waits until it is durable.
    pub fn append_durable(&self, payload: &[u8]) -> Result<Position> {
        let position = self.append(payload)?;
        self.shared.wait_durable_end(position.0 + 1)?;
        Ok(position)
    }

    /// The record at `pos` and the position of the record after it.
    pub fn read(&self, pos: Position) -> Result<(Vec<u8>, Position)> {
        let (payload, next) =
            self.shared
                .read_frame(pos.0, &mut Chunk::default(), READ_CHUNK_BYTES)?;
        Ok((payload, Position(next)))
    }

    /// Iterates from `pos` over the records appended before this call.
    pub fn iter_from(&self, pos: Position) -> Result<WalIter> {
        let limit = {
            let st = self.shared.state.lock();
            if pos.0 < st.first || pos.0 > st.end {
                return Err(Error::OutOfRange {
                    position: pos.0,
                    first: st.first,
                    end: st.end,
                });
            }
            st.end
        };
        Ok(WalIter {
            shared: Arc::clone(&self.shared),
            next: pos.0,
            limit,
            chunk: Chunk::default(),
            done: false,
        })
    }

    /// First retained position (the start of the oldest segment).
    pub fn first_position(&self) -> Position {
        Position(self.shared.state.lock().first)
    }

    /// Where the next record will go.
    pub fn end_position(&self) -> Position {
        Position(self.shared.state.lock().end)
    }

    /// End of the durable prefix: every record that starts before it is durable.
    pub fn durable_position(&self) -> Position {
        Position(self.shared.durable())
    }

    /// Deletes whole segments that end at or before `pos` (never the active one);
    /// returns how many were removed.
    pub fn drop_before(&self, pos: Position) -> Result<u64> {
        self.shared.drop_before(pos.0)
    }

    /// Removes the record at `pos` (a record boundary) and all after it, durably; later
    /// appends start at `pos`.
    pub fn truncate_from(&self, pos: Position) -> Result<()> {
        self.shared.truncate_from(pos.0)
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        let c = &self.shared.counters;
        WalStats {
            appends: c.appends.load(Ordering::Relaxed),
            syncs: c.syncs.load(Ordering::Relaxed),
            bytes_appended: c.bytes_appended.load(Ordering::Relaxed),
        }
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        self.shared.dir()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        let mut io = self.shared.io.lock();
        // Best effort, like a buffered file's flush on drop: errors have nowhere to go,
        // and nothing unsynced was promised durable.
        let _ = self.shared.write_pending(&mut io, 0);
    }
}

#[cfg(test)]
mod tests;
