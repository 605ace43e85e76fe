//! Reshaping the log: dropping a prefix of whole segments and truncating a suffix.
//!
//! Both hold the `io` lock (so no group-commit leader is writing) and update the memory
//! view first, so readers and appenders see the new shape at once; the file work follows
//! in an order that leaves a valid log on disk after a crash at any point.

use std::sync::atomic::Ordering;

use super::core::{IoState, SegmentRef, Shared, closed};
use super::frame::decode_frame_limited;
use super::reader::{Chunk, READ_CHUNK_BYTES};
use super::segment::{SEGMENT_HEADER_LEN, file_offset};
use crate::error::{Error, Result};

impl Shared {
    /// Removes every segment that ends at or before `position`, except the active one.
    pub fn drop_before(&self, position: u64) -> Result<u64> {
        let _io = self.io.lock();
        let removed: Vec<SegmentRef> = {
            let mut st = self.state.lock();
            let starts: Vec<u64> = st.segments.keys().copied().collect();
            let mut removed = Vec::new();
            // A segment ends where the next begins; the last has no successor, so it stays.
            for pair in starts.windows(2) {
                if pair[1] <= position
                    && let Some(segment) = st.segments.remove(&pair[0])
                {
                    removed.push(segment);
                }
            }
            if let Some(&first) = st.segments.keys().next() {
                st.first = first;
            }
            st.assert_consistent();
            removed
        };
        // Oldest first, each removal made durable before the next: a crash leaves a
        // shorter prefix missing, never a hole in the middle of the log.
        for segment in &removed {
            self.fs.remove_file(&segment.path)?;
            self.sync_dir()?;
        }
        Ok(removed.len() as u64)
    }

    /// Removes the record at `position` and everything after it, durably.
    pub fn truncate_from(&self, position: u64) -> Result<()> {
        let mut io = self.io.lock();
        {
            let mut st = self.state.lock();
            if let Some(reason) = &st.poisoned {
                return Err(closed(reason));
            }
            if position < st.first || position > st.end {
                return Err(Error::OutOfRange {
                    position,
                    first: st.first,
                    end: st.end,
                });
            }
            if position == st.end {
                return Ok(());
            }
            assert!(st.inflight.is_none(), "no leader writes while we hold io");
            if position >= st.pending_start {
                // Nothing at or after `position` reached a file: cut the buffer only.
                let cut = usize::try_from(position - st.pending_start).unwrap_or(usize::MAX);
                let is_boundary = st.pending.get(cut..).is_some_and(|rest| {
                    decode_frame_limited(rest, self.opts.record_size_max_bytes)
                        .is_ok_and(|frame| frame.position == position)
                });
                if !is_boundary {
                    return Err(not_a_boundary(position));
                }
                st.pending.truncate(cut);
                st.end = position;
                st.rolls.retain(|&roll| roll < position);
                st.tail_segment_start = st.rolls.last().copied().unwrap_or(io.start);
                st.assert_consistent();
                return Ok(());
            }
        }
        // The record is in a file: check it is a record boundary before touching anything.
        self.read_frame(position, &mut Chunk::default(), READ_CHUNK_BYTES)?;
        let result = self.truncate_files(&mut io, position);
        if let Err(err) = &result {
            // The files may now disagree with memory: stop rather than guess.
            self.poison(err);
        }
        result
    }

    fn truncate_files(&self, io: &mut IoState, position: u64) -> Result<()> {
        let (keep, removed) = {
            let mut st = self.state.lock();
            let removed: Vec<SegmentRef> = st
                .segments
                .split_off(&(position + 1))
                .into_values()
                .collect();
            let found = st.segments.range(..=position).next_back();
            let Some(keep) = found.map(|(_, s)| s.clone()) else {
                // Invariant: segments cover [first, written_end); a broken one is a bug.
                unreachable!("retained position {position} has no segment");
            };
            st.end = position;
            st.pending.clear();
            st.pending_start = position;
            st.written_end = position;
            st.rolls.clear();
            st.tail_segment_start = keep.start;
            st.assert_consistent();
            (keep, removed)
        };
        // Lowered under `io`, before any file changes, so no waiter is told a removed
        // record is durable.
        self.durable.fetch_min(position, Ordering::AcqRel);
        // Newest first, each removal durable before the next, so a crash leaves a log
        // that is a prefix of the old one.
        for segment in removed.iter().rev() {
            self.fs.remove_file(&segment.path)?;
            self.sync_dir()?;
        }
        if io.start != keep.start {
            io.file = self.fs.open_append(&keep.path)?;
            io.start = keep.start;
            io.path = keep.path.clone();
        }
        let offset = file_offset(keep.start, position);
        assert!(offset >= SEGMENT_HEADER_LEN);
        io.file.truncate(offset)?;
        self.sync_file(io.file.as_ref())
    }
}

fn not_a_boundary(position: u64) -> Error {
    Error::invalid(format!(
        "cannot truncate at WAL position {position}: it is not a record boundary"
    ))
}
