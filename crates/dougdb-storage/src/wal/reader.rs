//! Reading records back, by position ([`Shared::read_frame`]) and in order ([`WalIter`]).
//!
//! A record lives in exactly one of three places: a segment file (below the written end),
//! the batch a group-commit leader is writing (`inflight`), or the pending buffer. Reads
//! look the place up under the append lock, copy out of memory or clone the segment's
//! read handle, and do file I/O after releasing the lock.

use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

use super::Position;
use super::core::{SegmentRef, Shared};
use super::frame::{FrameError, decode_frame_limited, peek_header};
use super::segment::file_offset;
use crate::error::{Error, Result};

/// First read for a single record: most records fit, bigger ones cost a second read.
pub(super) const READ_CHUNK_BYTES: usize = 4 << 10;
/// Read-ahead of an iterator.
pub(super) const ITER_CHUNK_BYTES: usize = 256 << 10;
/// Re-reads allowed for one frame; the log can grow between reads but a frame can't.
const FETCH_ATTEMPTS_MAX: usize = 3;

/// Bytes copied from one source (a segment, or a memory buffer), starting at a position.
#[derive(Default)]
pub(super) struct Chunk {
    start: u64,
    bytes: Vec<u8>,
    /// The source holds data up to this position; a frame cut off before it needs a
    /// bigger read, one cut off at it is broken.
    source_end: u64,
    /// Segment path and the file offset of `bytes[0]`, for error reports.
    file: Option<(PathBuf, u64)>,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    fn covers(&self, position: u64) -> bool {
        position >= self.start && position < self.end()
    }
}

enum Plan {
    Ready(Chunk),
    Memory { bytes: Arc<Vec<u8>>, start: u64 },
    File { segment: SegmentRef, end: u64 },
}

fn copy_out(buf: &[u8], offset: usize, want: usize) -> Vec<u8> {
    let rest = buf.get(offset..).unwrap_or_default();
    rest[..want.min(rest.len())].to_vec()
}

impl Shared {
    /// Up to `want` bytes starting at `position`, from whichever single source holds it.
    fn fetch(&self, position: u64, want: usize) -> Result<Chunk> {
        let plan = {
            let st = self.state.lock();
            if position < st.first || position >= st.end {
                return Err(Error::OutOfRange {
                    position,
                    first: st.first,
                    end: st.end,
                });
            }
            if position >= st.pending_start {
                let offset = usize::try_from(position - st.pending_start).unwrap_or(usize::MAX);
                Plan::Ready(Chunk {
                    start: position,
                    bytes: copy_out(&st.pending, offset, want),
                    source_end: st.end,
                    file: None,
                })
            } else if let Some(inflight) = st.inflight.as_ref().filter(|i| position >= i.start) {
                Plan::Memory {
                    bytes: Arc::clone(&inflight.bytes),
                    start: inflight.start,
                }
            } else {
                let found = st.segments.range(..=position).next_back();
                let Some(segment) = found.map(|(_, s)| s.clone()) else {
                    // Invariant: segments cover [first, written_end); a broken one is a bug.
                    unreachable!("retained position {position} has no segment");
                };
                let next = st
                    .segments
                    .range((Bound::Excluded(position), Bound::Unbounded))
                    .next()
                    .map_or(u64::MAX, |(start, _)| *start);
                Plan::File {
                    segment,
                    end: next.min(st.written_end),
                }
            }
        };
        match plan {
            Plan::Ready(chunk) => Ok(chunk),
            Plan::Memory { bytes, start } => {
                let offset = usize::try_from(position - start).unwrap_or(usize::MAX);
                Ok(Chunk {
                    start: position,
                    bytes: copy_out(&bytes, offset, want),
                    source_end: start + bytes.len() as u64,
                    file: None,
                })
            }
            Plan::File { segment, end } => {
                let available = end - position;
                let len = usize::try_from(available).map_or(want, |a| a.min(want));
                let offset = file_offset(segment.start, position);
                let mut bytes = vec![0u8; len];
                segment.file.read_exact_at(&mut bytes, offset)?;
                Ok(Chunk {
                    start: position,
                    bytes,
                    source_end: end,
                    file: Some((segment.path, offset)),
                })
            }
        }
    }

    /// Decodes the record at `position`, reusing `chunk` when it already holds it.
    /// Returns the payload and the next record's position.
    pub(super) fn read_frame(
        &self,
        position: u64,
        chunk: &mut Chunk,
        want: usize,
    ) -> Result<(Vec<u8>, u64)> {
        if !chunk.covers(position) {
            *chunk = self.fetch(position, want)?;
        }
        let limit = self.opts.record_size_max_bytes;
        for _ in 0..FETCH_ATTEMPTS_MAX {
            let rel = usize::try_from(position - chunk.start).unwrap_or(usize::MAX);
            let buf = chunk.bytes.get(rel..).unwrap_or_default();
            match decode_frame_limited(buf, limit) {
                Ok(frame) if frame.position == position => {
                    let next = position + frame.frame_len as u64;
                    return Ok((frame.payload.to_vec(), next));
                }
                Err(FrameError::Incomplete { needed, .. }) if chunk.end() < chunk.source_end => {
                    *chunk = self.fetch(position, needed.max(want))?;
                }
                Ok(_) => return Err(not_a_boundary(position)),
                Err(err) => return Err(frame_error(position, chunk, rel, err)),
            }
        }
        Err(not_a_boundary(position))
    }
}

fn not_a_boundary(position: u64) -> Error {
    Error::invalid(format!(
        "WAL position {position} is not a record boundary: use a position returned by append"
    ))
}

/// Bytes that claim to be the record at `position` but are not valid are corruption; bytes
/// that do not even claim it mean the caller's position is off a record boundary.
fn frame_error(position: u64, chunk: &Chunk, rel: usize, err: FrameError) -> Error {
    let buf = chunk.bytes.get(rel..).unwrap_or_default();
    let claims_position = peek_header(buf).is_some_and(|h| h.position == position);
    match &chunk.file {
        Some((path, offset)) if claims_position => {
            Error::corruption(path, offset + rel as u64, err.to_string())
        }
        _ => not_a_boundary(position),
    }
}

/// Records in log order from a start position up to the end the log had when the
/// iterator was made. Yields `(position, payload)`; stops after the first error.
///
/// Concurrent `drop_before` past the cursor makes the next item `OutOfRange`; concurrent
/// `truncate_from` below the limit gives `OutOfRange`, or the records appended since.
pub struct WalIter {
    pub(super) shared: Arc<Shared>,
    pub(super) next: u64,
    pub(super) limit: u64,
    pub(super) chunk: Chunk,
    pub(super) done: bool,
}

impl fmt::Debug for WalIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalIter")
            .field("next", &self.next)
            .field("limit", &self.limit)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl WalIter {
    /// The position the next item will be read from.
    pub fn position(&self) -> Position {
        Position(self.next)
    }
}

impl Iterator for WalIter {
    type Item = Result<(Position, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.next >= self.limit {
            return None;
        }
        let position = self.next;
        match self
            .shared
            .read_frame(position, &mut self.chunk, ITER_CHUNK_BYTES)
        {
            Ok((payload, next)) => {
                self.next = next;
                Some(Ok((Position(position), payload)))
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}
