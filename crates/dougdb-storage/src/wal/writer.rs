//! Appending and group commit: records are framed into an in-memory buffer under the
//! append lock; one leader at a time writes the whole buffer with one `write` and one
//! fsync while later appenders queue up behind it for the next round.
//!
//! Protocol (see docs/wal.md): a caller of `wait_durable_end(t)` returns as soon as the
//! durable end reaches `t`. Otherwise, if no leader is active it becomes the leader: it
//! takes every pending frame (its own and everyone else's), writes them, fsyncs, raises
//! the durable end and wakes all waiters; if a leader is active it waits for that round
//! to end and checks again. N concurrent writers therefore share about one fsync per
//! round, and the append lock is never held during the write's fsync.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Position;
use super::core::{Inflight, IoState, PENDING_WRITE_BYTES, SPARE_CAPACITY_MAX, Shared, closed};
use super::frame::{encode_frame, frame_len};
use super::segment::{SEGMENT_HEADER_LEN, encode_segment_header, file_offset};
use crate::error::{Error, Result};

impl Shared {
    fn validate(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            // Refused so that zero-filled garbage can never decode as a record (frame.rs).
            return Err(Error::invalid(
                "empty WAL records are not allowed: append at least one byte",
            ));
        }
        if payload.len() as u64 > u64::from(self.opts.record_size_max_bytes) {
            return Err(Error::invalid(format!(
                "WAL record of {} bytes exceeds record_size_max_bytes = {}",
                payload.len(),
                self.opts.record_size_max_bytes
            )));
        }
        Ok(())
    }

    /// Appends every payload or none (all are validated first), under one lock acquisition.
    pub fn append_all<'a, I>(&self, payloads: I, out: &mut Vec<Position>) -> Result<()>
    where
        I: Iterator<Item = &'a [u8]> + Clone,
    {
        for payload in payloads.clone() {
            self.validate(payload)?;
        }
        let (pending_len, bytes) = {
            let mut st = self.state.lock();
            if let Some(reason) = &st.poisoned {
                return Err(closed(reason));
            }
            let mut bytes = 0u64;
            for payload in payloads {
                let position = st.end;
                let len = frame_len(payload.len());
                // Roll when this record would push a non-empty segment past the limit; a
                // record bigger than a whole segment gets a segment of its own.
                let segment_len = SEGMENT_HEADER_LEN + (position - st.tail_segment_start);
                if segment_len > SEGMENT_HEADER_LEN
                    && segment_len + len > self.opts.segment_size_bytes
                {
                    st.rolls.push(position);
                    st.tail_segment_start = position;
                }
                encode_frame(position, payload, &mut st.pending);
                st.end = position + len;
                bytes += payload.len() as u64;
                out.push(Position(position));
            }
            (st.pending.len(), bytes)
        };
        self.counters
            .appends
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        self.counters
            .bytes_appended
            .fetch_add(bytes, Ordering::Relaxed);
        if pending_len >= PENDING_WRITE_BYTES {
            // Backpressure: bound the buffer by writing it out (no fsync) ourselves.
            let mut io = self.io.lock();
            self.write_pending(&mut io, PENDING_WRITE_BYTES)?;
        }
        Ok(())
    }

    /// Writes pending frames to the segment files if there are at least `min_bytes` of
    /// them; returns the written end. Caller holds `io`.
    pub fn write_pending(&self, io: &mut IoState, min_bytes: usize) -> Result<u64> {
        let (start, bytes, rolls, upto) = {
            let mut st = self.state.lock();
            if let Some(reason) = &st.poisoned {
                return Err(closed(reason));
            }
            assert!(st.inflight.is_none(), "only the io-lock holder writes");
            if st.pending.is_empty() || st.pending.len() < min_bytes {
                return Ok(st.written_end);
            }
            let spare = std::mem::take(&mut st.spare);
            let bytes = Arc::new(std::mem::replace(&mut st.pending, spare));
            let start = st.pending_start;
            st.pending_start = st.end;
            st.inflight = Some(Inflight {
                start,
                bytes: Arc::clone(&bytes),
            });
            let rolls = std::mem::take(&mut st.rolls);
            st.assert_consistent();
            (start, bytes, rolls, st.end)
        };
        if let Err(err) = self.write_bytes(io, start, &bytes, &rolls) {
            // Keep `inflight` so reads of these records still answer from memory.
            self.poison(&err);
            return Err(err);
        }
        let mut st = self.state.lock();
        st.inflight = None;
        st.written_end = upto;
        st.assert_consistent();
        if let Ok(mut buf) = Arc::try_unwrap(bytes)
            && buf.capacity() <= SPARE_CAPACITY_MAX
            && buf.capacity() > st.spare.capacity()
        {
            buf.clear();
            st.spare = buf;
        }
        Ok(upto)
    }

    fn write_bytes(&self, io: &mut IoState, start: u64, bytes: &[u8], rolls: &[u64]) -> Result<()> {
        assert!(
            file_offset(io.start, start) == io.file.len(),
            "the active segment's length must match the written end"
        );
        let mut done = 0usize;
        for &roll in rolls {
            let cut = usize::try_from(roll - start).unwrap_or(usize::MAX);
            assert!(
                cut >= done && cut <= bytes.len(),
                "rolls lie inside the batch"
            );
            if cut > done {
                io.file.append(&bytes[done..cut])?;
            }
            done = cut;
            self.roll(io, roll)?;
        }
        if done < bytes.len() {
            io.file.append(&bytes[done..])?;
        }
        Ok(())
    }

    /// Finishes the active segment and starts a new one at `start`.
    ///
    /// The old segment is fsynced before the new file is created: a file system may make
    /// a new name durable at any moment, and recovery relies on every segment but the last
    /// being complete.
    fn roll(&self, io: &mut IoState, start: u64) -> Result<()> {
        self.sync_file(io.file.as_ref())?;
        let path = self.segment_path(start);
        let file = self.fs.create(&path)?;
        file.append(&encode_segment_header(start))?;
        self.sync_file(file.as_ref())?;
        self.sync_dir()?;
        let reader = self.fs.open_read(&path)?;
        {
            let mut st = self.state.lock();
            st.segments.insert(
                start,
                super::core::SegmentRef {
                    start,
                    path: path.clone(),
                    file: reader,
                },
            );
        }
        *io = IoState { file, start, path };
        Ok(())
    }

    /// Writes everything pending and fsyncs it; returns the new durable end.
    pub fn flush_and_sync(&self) -> Result<u64> {
        let mut io = self.io.lock();
        let upto = self.write_pending(&mut io, 0)?;
        if upto > self.durable() {
            if let Err(err) = self.sync_file(io.file.as_ref()) {
                self.poison(&err);
                return Err(err);
            }
            // Raised under `io` so a concurrent truncate_from cannot be overtaken.
            self.durable.fetch_max(upto, Ordering::AcqRel);
        }
        Ok(self.durable())
    }

    /// Group commit: returns once the durable end is at least `target`.
    pub fn wait_durable_end(&self, target: u64) -> Result<()> {
        let mut sync = self.sync.lock();
        loop {
            if let Some(reason) = &sync.failed {
                return Err(closed(reason));
            }
            if self.durable() >= target {
                return Ok(());
            }
            if sync.leader {
                self.sync_cv.wait(&mut sync);
                continue;
            }
            sync.leader = true;
            drop(sync);
            let result = self.flush_and_sync();
            sync = self.sync.lock();
            sync.leader = false;
            self.sync_cv.notify_all();
            let durable = result?;
            if durable < target {
                // Our own round synced everything appended, yet not `target`: the records
                // were truncated away meanwhile. Waiting longer would spin.
                drop(sync);
                return Err(self.out_of_range(target.saturating_sub(1)));
            }
        }
    }
}
