//! WAL segment files: their names, their fixed header codec, and position/offset mapping.
//!
//! ```text
//! segment header (32 bytes, at file offset 0)
//! offset  size  field
//!      0     8  magic          b"DOUGWAL\0"
//!      8     4  version        u32 LE, 1
//!     12     4  reserved       u32 LE, 0
//!     16     8  start          u64 LE, global position of the segment's first record
//!     24     4  reserved       u32 LE, 0
//!     28     4  crc32          u32 LE, crc32fast over bytes 0..28
//! ```
//!
//! Positions count record bytes only: the record at global position `p` in the segment
//! starting at `start` sits at file offset `SEGMENT_HEADER_LEN + (p - start)`. A segment's
//! file name is its start, zero-padded to 20 decimal digits, so names sort in log order.

/// Bytes of segment header before the first frame.
pub const SEGMENT_HEADER_LEN: u64 = 32;

/// Identifies a DougDB WAL segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"DOUGWAL\0";

/// The on-disk format version this code writes and reads.
pub const SEGMENT_VERSION: u32 = 1;

const SUFFIX: &str = ".wal";
const DIGITS: usize = 20;

/// Why a segment header is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than [`SEGMENT_HEADER_LEN`] bytes.
    #[error("segment header is short: {available} of 32 bytes")]
    Short {
        /// Bytes present.
        available: usize,
    },
    /// The header checksum does not match.
    #[error("segment header checksum mismatch")]
    BadChecksum,
    /// Checksum fine but not our magic (another file type that happens to checksum).
    #[error("segment header has the wrong magic")]
    BadMagic,
    /// A version this code does not understand.
    #[error("segment format version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
}

/// The header bytes of a segment whose first record is at `start`.
pub fn encode_segment_header(start: u64) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    header[0..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&start.to_le_bytes());
    let crc = crc32fast::hash(&header[..28]);
    header[28..32].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Decodes a segment header from the front of `buf`, returning the segment's start.
/// Total: any bytes give a start or an error.
pub fn decode_segment_header(buf: &[u8]) -> Result<u64, HeaderError> {
    let Some(header) = buf.get(..SEGMENT_HEADER_LEN as usize) else {
        return Err(HeaderError::Short {
            available: buf.len(),
        });
    };
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[28..32]);
    if crc32fast::hash(&header[..28]) != u32::from_le_bytes(word) {
        return Err(HeaderError::BadChecksum);
    }
    if header[0..8] != SEGMENT_MAGIC {
        return Err(HeaderError::BadMagic);
    }
    word.copy_from_slice(&header[8..12]);
    let version = u32::from_le_bytes(word);
    if version != SEGMENT_VERSION {
        return Err(HeaderError::UnsupportedVersion(version));
    }
    let mut start = [0u8; 8];
    start.copy_from_slice(&header[16..24]);
    Ok(u64::from_le_bytes(start))
}

/// The file name of the segment starting at `start`, e.g. `00000000000000000000.wal`.
pub fn segment_file_name(start: u64) -> String {
    format!("{start:0DIGITS$}{SUFFIX}")
}

/// The start encoded in a segment file name, or `None` for any other file.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// File offset of global position `position` in the segment starting at `start`.
pub fn file_offset(start: u64, position: u64) -> u64 {
    assert!(
        position >= start,
        "position {position} precedes segment {start}"
    );
    SEGMENT_HEADER_LEN + (position - start)
}

/// Global position of file offset `offset` (at or past the header) in segment `start`.
pub fn position_at(start: u64, offset: u64) -> u64 {
    assert!(
        offset >= SEGMENT_HEADER_LEN,
        "offset {offset} is inside the header"
    );
    start + (offset - SEGMENT_HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_detects_flips() {
        let header = encode_segment_header(123_456);
        assert_eq!(decode_segment_header(&header), Ok(123_456));
        for at in 0..header.len() {
            let mut bad = header;
            bad[at] ^= 0x10;
            assert!(decode_segment_header(&bad).is_err(), "flip at {at}");
        }
        assert_eq!(
            decode_segment_header(&header[..31]),
            Err(HeaderError::Short { available: 31 })
        );
    }

    #[test]
    fn names_sort_in_log_order_and_parse_back() {
        assert_eq!(segment_file_name(0), "00000000000000000000.wal");
        assert_eq!(segment_file_name(u64::MAX), "18446744073709551615.wal");
        assert!(segment_file_name(99) < segment_file_name(100));
        assert_eq!(
            parse_segment_file_name("00000000000000004096.wal"),
            Some(4096)
        );
        assert_eq!(parse_segment_file_name("4096.wal"), None);
        assert_eq!(parse_segment_file_name("0000000000000000409x.wal"), None);
        assert_eq!(parse_segment_file_name("99999999999999999999.wal"), None);
        assert_eq!(parse_segment_file_name("00000000000000004096.tmp"), None);
    }

    #[test]
    fn offsets_skip_the_header() {
        assert_eq!(file_offset(100, 100), SEGMENT_HEADER_LEN);
        assert_eq!(position_at(100, file_offset(100, 250)), 250);
    }
}
