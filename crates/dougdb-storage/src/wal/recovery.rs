//! Opening a WAL directory: scan every segment to the last valid record, repair a torn
//! tail, refuse mid-log corruption.
//!
//! The rule (docs/wal.md has the reasoning):
//! - Every segment but the last must be whole: the writer fsyncs a segment completely
//!   before it creates the next file, so a bad byte there is corruption.
//! - In the last segment, at the first offset that is not a valid frame (torn, bad length,
//!   bad checksum, wrong position), look for a valid frame anywhere after it: a frame
//!   whose embedded position matches the offset it sits at and whose checksum holds. If
//!   one exists, the bad frame was once followed by durable data, so it is corruption of
//!   the log's middle: `Error::Corruption`. If none exists, it is a torn tail: the file is
//!   cut there, synced, and the loss reported in [`Recovery`].
//! - A last segment whose header is torn (short or failing its checksum) and that holds
//!   no valid frame is a segment whose creation was interrupted: its header is rewritten.
//! - Consecutive segments must meet exactly (each starts where the previous one ends).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::core::{IoState, SegmentRef};
use super::frame::{FRAME_HEADER_LEN, FrameError, decode_frame_limited, peek_header};
use super::segment::{
    SEGMENT_HEADER_LEN, decode_segment_header, encode_segment_header, parse_segment_file_name,
    position_at, segment_file_name,
};
use super::{Position, Recovery, WalOptions};
use crate::error::{Error, Result};
use crate::fs::{ReadableFile, SharedFs, WritableFile};

/// Read size while scanning a segment.
const SCAN_CHUNK_BYTES: usize = 1 << 20;

/// What `open` hands to the `Wal` it builds.
#[derive(Debug)]
pub(super) struct Recovered {
    pub segments: BTreeMap<u64, SegmentRef>,
    pub first: u64,
    pub end: u64,
    pub io: IoState,
    pub recovery: Recovery,
    /// fsyncs issued while opening, for the stats.
    pub syncs: u64,
}

struct Scan {
    end_offset: u64,
    records: u64,
    /// File offset and description of the first invalid frame.
    bad: Option<(u64, String)>,
}

/// Walks the frames of one segment from just after its header.
fn scan_segment(file: &dyn ReadableFile, start: u64, len: u64, limit: u32) -> Result<Scan> {
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_offset = SEGMENT_HEADER_LEN;
    let mut offset = SEGMENT_HEADER_LEN;
    let mut records = 0u64;
    let bad = |offset: u64, records: u64, reason: String| Scan {
        end_offset: offset,
        records,
        bad: Some((offset, reason)),
    };
    while offset < len {
        let rel = usize::try_from(offset - buf_offset).unwrap_or(usize::MAX);
        let expected = position_at(start, offset);
        match decode_frame_limited(buf.get(rel..).unwrap_or_default(), limit) {
            Ok(frame) if frame.position == expected => {
                offset += frame.frame_len as u64;
                records += 1;
            }
            Ok(frame) => {
                let reason = format!(
                    "frame claims position {} but sits at position {expected}",
                    frame.position
                );
                return Ok(bad(offset, records, reason));
            }
            Err(FrameError::Incomplete { needed, .. }) => {
                let left = len - offset;
                if needed as u64 > left {
                    let reason = format!("torn frame: needs {needed} bytes, {left} remain");
                    return Ok(bad(offset, records, reason));
                }
                let want = needed.max(SCAN_CHUNK_BYTES) as u64;
                let read_len = usize::try_from(want.min(left)).unwrap_or(needed);
                buf.resize(read_len, 0);
                file.read_exact_at(&mut buf, offset)?;
                buf_offset = offset;
            }
            Err(err) => return Ok(bad(offset, records, err.to_string())),
        }
    }
    Ok(Scan {
        end_offset: offset,
        records,
        bad: None,
    })
}

/// File offset of the first valid frame at or after `from`, if any: one whose embedded
/// position matches where it sits and whose checksum holds. The position check first
/// makes this one pass with a rare checksum, not a checksum per byte.
fn find_valid_frame(
    file: &dyn ReadableFile,
    start: u64,
    from: u64,
    len: u64,
    limit: u32,
) -> Result<Option<u64>> {
    assert!(from >= SEGMENT_HEADER_LEN);
    if from >= len {
        return Ok(None);
    }
    let rest_len = usize::try_from(len - from)
        .map_err(|_| Error::invalid("segment too large to scan in memory"))?;
    let mut rest = vec![0u8; rest_len];
    file.read_exact_at(&mut rest, from)?;
    for rel in 0..rest.len().saturating_sub(FRAME_HEADER_LEN) {
        let offset = from + rel as u64;
        let candidate = &rest[rel..];
        let claims_here = peek_header(candidate)
            .is_some_and(|h| h.position == position_at(start, offset) && h.payload_len > 0);
        if claims_here
            && let Ok(frame) = decode_frame_limited(candidate, limit)
            && frame.position == position_at(start, offset)
        {
            return Ok(Some(offset));
        }
    }
    Ok(None)
}

fn read_head(file: &dyn ReadableFile, len: u64) -> Result<Vec<u8>> {
    let mut head = vec![0u8; usize::try_from(len.min(SEGMENT_HEADER_LEN)).unwrap_or(0)];
    file.read_exact_at(&mut head, 0)?;
    Ok(head)
}

/// Creates the first segment of a new log.
fn create_fresh(fs: &SharedFs, dir: &Path) -> Result<Recovered> {
    let path = dir.join(segment_file_name(0));
    let file = fs.create(&path)?;
    file.append(&encode_segment_header(0))?;
    file.sync()?;
    fs.sync_dir(dir)?;
    let reader = fs.open_read(&path)?;
    let mut segments = BTreeMap::new();
    segments.insert(
        0,
        SegmentRef {
            start: 0,
            path: path.clone(),
            file: reader,
        },
    );
    Ok(Recovered {
        segments,
        first: 0,
        end: 0,
        io: IoState {
            file,
            start: 0,
            path,
        },
        recovery: Recovery::default(),
        syncs: 2,
    })
}

/// Scan state carried across the segments of one `open`.
struct Scanner<'a> {
    fs: &'a SharedFs,
    limit: u32,
    recovery: Recovery,
    syncs: u64,
    /// The last segment's write handle, if a repair already opened (and synced) it.
    repaired: Option<Arc<dyn WritableFile>>,
}

impl Scanner<'_> {
    /// Checks one segment; returns the file offset its valid records end at.
    fn segment(
        &mut self,
        path: &Path,
        file: &dyn ReadableFile,
        start: u64,
        is_last: bool,
    ) -> Result<u64> {
        let len = file.len()?;
        match decode_segment_header(&read_head(file, len)?) {
            Ok(found) if found == start => {}
            Ok(found) => {
                let reason = format!("header says the segment starts at {found}");
                return Err(Error::corruption(path, 0, reason));
            }
            Err(err) if !is_last => return Err(Error::corruption(path, 0, err.to_string())),
            Err(err) => {
                if let Some(valid) =
                    find_valid_frame(file, start, SEGMENT_HEADER_LEN, len, self.limit)?
                {
                    let reason = format!("{err}; a valid record follows at offset {valid}");
                    return Err(Error::corruption(path, 0, reason));
                }
                // Creation was interrupted before the header was durable: start it over.
                self.repair(path, 0, len, Some(start))?;
                return Ok(SEGMENT_HEADER_LEN);
            }
        }
        let scan = scan_segment(file, start, len, self.limit)?;
        self.recovery.records += scan.records;
        if let Some((offset, reason)) = scan.bad {
            if !is_last {
                let reason = format!("{reason} (not the last segment)");
                return Err(Error::corruption(path, offset, reason));
            }
            if let Some(valid) = find_valid_frame(file, start, offset + 1, len, self.limit)? {
                let reason = format!("{reason}; a valid record follows at offset {valid}");
                return Err(Error::corruption(path, offset, reason));
            }
            self.repair(path, offset, len, None)?;
        }
        Ok(scan.end_offset)
    }

    /// Cuts the last segment at `offset` (rewriting its header if `header` is given),
    /// fsyncs it, and reports the bytes dropped.
    fn repair(&mut self, path: &Path, offset: u64, len: u64, header: Option<u64>) -> Result<()> {
        let writer = self.fs.open_append(path)?;
        writer.truncate(offset)?;
        if let Some(start) = header {
            writer.append(&encode_segment_header(start))?;
        }
        writer.sync()?;
        self.syncs += 1;
        self.recovery.truncated_bytes += len - offset;
        self.recovery.truncated_segment = Some(path.to_path_buf());
        self.repaired = Some(writer);
        Ok(())
    }
}

/// Scans and repairs the WAL in `dir` (creating it if absent).
pub(super) fn recover(fs: &SharedFs, dir: &Path, opts: &WalOptions) -> Result<Recovered> {
    fs.create_dir_all(dir)?;
    let mut starts: Vec<u64> = fs
        .list_dir(dir)?
        .iter()
        .filter_map(|name| parse_segment_file_name(name))
        .collect();
    starts.sort_unstable();
    let (Some(&first), Some(&last_start)) = (starts.first(), starts.last()) else {
        return create_fresh(fs, dir);
    };
    let mut scanner = Scanner {
        fs,
        limit: opts.record_size_max_bytes,
        recovery: Recovery::default(),
        syncs: 0,
        repaired: None,
    };
    let mut segments = BTreeMap::new();
    let mut end = first;
    for &start in &starts {
        let path = dir.join(segment_file_name(start));
        if start != end {
            let reason = format!("segment starts at {start} but the previous one ends at {end}");
            return Err(Error::corruption(&path, 0, reason));
        }
        let file = fs.open_read(&path)?;
        let end_offset = scanner.segment(&path, file.as_ref(), start, start == last_start)?;
        end = position_at(start, end_offset);
        segments.insert(start, SegmentRef { start, path, file });
    }
    let path: PathBuf = dir.join(segment_file_name(last_start));
    let file = match scanner.repaired.take() {
        Some(file) => file,
        None => {
            // A previous process may have exited without syncing its last writes; sync
            // them now so that the durable position we report is true.
            let file = fs.open_append(&path)?;
            file.sync()?;
            scanner.syncs += 1;
            file
        }
    };
    // Likewise for the last segment's name.
    fs.sync_dir(dir)?;
    scanner.recovery.end = Position(end);
    Ok(Recovered {
        segments,
        first,
        end,
        io: IoState {
            file,
            start: last_start,
            path,
        },
        recovery: scanner.recovery,
        syncs: scanner.syncs + 1,
    })
}
