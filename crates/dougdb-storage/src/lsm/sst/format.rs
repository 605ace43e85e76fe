//! Shared on-disk vocabulary of the SSTable format: block handles, fixed-width integer
//! readers, format limits, and the error every pure decoder returns.
//!
//! Decoders are pure functions over bytes and do not know which file the bytes came
//! from, so they return [`DecodeError`]; the reader turns it into
//! [`Error::Corruption`] naming the table file and the block's offset.

use std::fmt;
use std::path::Path;

use crate::error::Error;

/// Longest encoded internal key a table accepts: entry headers store key lengths as u16.
pub const MAX_KEY_LEN: usize = u16::MAX as usize;

/// Longest value a table accepts (2 GiB). Entry headers store value lengths as u32; the
/// bound leaves room for a full block before it, so a block's length always fits a u32.
pub const MAX_VALUE_LEN: usize = 1 << 31;

/// Largest `block_size_bytes` option (1 GiB), for the same reason.
pub const MAX_BLOCK_SIZE_OPTION: u32 = 1 << 30;

/// Longest block body: handles store lengths as u32 and restart offsets are u32.
pub const MAX_BLOCK_LEN: usize = u32::MAX as usize;

/// Why a pure decoder refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What check failed, for the `Corruption` message.
    pub reason: String,
}

impl DecodeError {
    /// A decode error with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        DecodeError {
            reason: reason.into(),
        }
    }

    /// Attaches the file and the offset of the block the bytes came from.
    pub fn at(self, file: &Path, offset: u64) -> Error {
        Error::corruption(file, offset, self.reason)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Result of a pure decoder.
pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

/// Where a block's body lives in the file: `len` excludes the block trailer that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Byte offset of the block's first byte.
    pub offset: u64,
    /// Length of the body, without the trailer.
    pub len: u32,
}

impl BlockHandle {
    /// Encoded width: offset u64 LE, then len u32 LE.
    pub const ENCODED_LEN: usize = 12;

    /// Appends the fixed-width encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
    }

    /// Decodes exactly [`BlockHandle::ENCODED_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DecodeError::new(format!(
                "block handle is {} bytes, expected {}",
                bytes.len(),
                Self::ENCODED_LEN
            )));
        }
        Ok(BlockHandle {
            offset: read_u64(bytes, 0)?,
            len: read_u32(bytes, 8)?,
        })
    }

    /// Offset one past the block's trailer, or `None` on overflow (only for bad input).
    pub fn end_with_trailer(&self) -> Option<u64> {
        self.offset
            .checked_add(u64::from(self.len))?
            .checked_add(super::trailer::TRAILER_LEN as u64)
    }
}

/// Reads a u16 LE at `at`, or fails if the bytes end first.
pub fn read_u16(bytes: &[u8], at: usize) -> DecodeResult<u16> {
    let raw = slice(bytes, at, 2)?;
    Ok(u16::from_le_bytes([raw[0], raw[1]]))
}

/// Reads a u32 LE at `at`, or fails if the bytes end first.
pub fn read_u32(bytes: &[u8], at: usize) -> DecodeResult<u32> {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(slice(bytes, at, 4)?);
    Ok(u32::from_le_bytes(raw))
}

/// Reads a u64 LE at `at`, or fails if the bytes end first.
pub fn read_u64(bytes: &[u8], at: usize) -> DecodeResult<u64> {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(slice(bytes, at, 8)?);
    Ok(u64::from_le_bytes(raw))
}

/// `bytes[at..at + len]`, or an error instead of a panic when out of range.
pub fn slice(bytes: &[u8], at: usize, len: usize) -> DecodeResult<&[u8]> {
    at.checked_add(len)
        .and_then(|end| bytes.get(at..end))
        .ok_or_else(|| {
            DecodeError::new(format!(
                "{len} bytes at {at} run past the end of {} bytes",
                bytes.len()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_round_trips_and_rejects_wrong_width() {
        let h = BlockHandle {
            offset: 0x0102_0304_0506_0708,
            len: 0x0a0b_0c0d,
        };
        let mut buf = Vec::new();
        h.encode_into(&mut buf);
        assert_eq!(buf.len(), BlockHandle::ENCODED_LEN);
        assert_eq!(BlockHandle::decode(&buf).unwrap(), h);
        assert!(BlockHandle::decode(&buf[..11]).is_err());
    }

    #[test]
    fn readers_fail_past_the_end_without_panicking() {
        assert!(read_u32(&[1, 2, 3], 0).is_err());
        assert!(read_u64(&[0; 8], 1).is_err());
        assert!(read_u16(&[0; 2], usize::MAX).is_err());
        assert!(slice(&[0; 4], usize::MAX, 2).is_err());
        assert_eq!(read_u16(&[1, 2], 0).unwrap(), 0x0201);
    }

    #[test]
    fn end_with_trailer_detects_overflow() {
        let h = BlockHandle {
            offset: u64::MAX - 2,
            len: 10,
        };
        assert!(h.end_with_trailer().is_none());
    }
}
