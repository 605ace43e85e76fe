//! The 5-byte trailer after every block: the block's kind and a CRC32 over body and kind.
//!
//! ```text
//! +-------------------+-----------+----------------------------------+
//! | body (len bytes)  | kind: u8  | crc32: u32 LE over body ++ kind  |
//! +-------------------+-----------+----------------------------------+
//! ```
//!
//! The kind is covered by the checksum so that a handle pointing at the wrong block (say,
//! a data handle landing on the index) fails the check instead of decoding nonsense.

use super::format::{DecodeError, DecodeResult, read_u32};

/// Width of the trailer that follows every block body.
pub const TRAILER_LEN: usize = 5;

/// What a block holds; stored in its trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BlockKind {
    /// Sorted key/value entries.
    Data = 1,
    /// One entry per data block: last key -> handle.
    Index = 2,
    /// The bloom filter over user keys.
    Filter = 3,
    /// Table properties (counts, key range, sequence range).
    Properties = 4,
}

impl BlockKind {
    /// Decodes the kind byte of a trailer.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(BlockKind::Data),
            2 => Some(BlockKind::Index),
            3 => Some(BlockKind::Filter),
            4 => Some(BlockKind::Properties),
            _ => None,
        }
    }
}

/// The checksum stored in a trailer.
pub fn checksum(body: &[u8], kind: BlockKind) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(body);
    h.update(&[kind as u8]);
    h.finalize()
}

/// Appends the trailer for `body` (already in `out` or elsewhere) to `out`.
pub fn append_trailer(out: &mut Vec<u8>, body: &[u8], kind: BlockKind) {
    let crc = checksum(body, kind);
    out.push(kind as u8);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Checks the trailer at the end of `raw` (body ++ trailer) and returns the body length.
/// Fails if `raw` is too short, the kind differs from `expected`, or the CRC mismatches.
pub fn verify(raw: &[u8], expected: BlockKind) -> DecodeResult<usize> {
    let body_len = raw
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or_else(|| DecodeError::new(format!("block of {} bytes has no trailer", raw.len())))?;
    let kind_byte = raw.get(body_len).copied().unwrap_or(0);
    let stored = read_u32(raw, body_len + 1)?;
    let body = raw.get(..body_len).unwrap_or_default();
    // Check the CRC before the kind: a bit flip anywhere should read as a checksum error.
    let mut h = crc32fast::Hasher::new();
    h.update(body);
    h.update(&[kind_byte]);
    let actual = h.finalize();
    if actual != stored {
        return Err(DecodeError::new(format!(
            "{expected:?} block checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"
        )));
    }
    match BlockKind::from_u8(kind_byte) {
        Some(kind) if kind == expected => Ok(body_len),
        _ => Err(DecodeError::new(format!(
            "expected a {expected:?} block, trailer says kind {kind_byte}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(body: &[u8], kind: BlockKind) -> Vec<u8> {
        let mut raw = body.to_vec();
        append_trailer(&mut raw, body, kind);
        raw
    }

    #[test]
    fn sealed_block_verifies() {
        let raw = sealed(b"hello", BlockKind::Data);
        assert_eq!(verify(&raw, BlockKind::Data).unwrap(), 5);
        assert_eq!(
            verify(&sealed(b"", BlockKind::Filter), BlockKind::Filter).unwrap(),
            0
        );
    }

    #[test]
    fn every_flipped_bit_fails() {
        let raw = sealed(b"some block body", BlockKind::Index);
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut bad = raw.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    verify(&bad, BlockKind::Index).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn wrong_kind_and_short_input_fail() {
        let raw = sealed(b"x", BlockKind::Data);
        assert!(verify(&raw, BlockKind::Index).is_err());
        assert!(verify(&raw[..4], BlockKind::Data).is_err());
        assert!(verify(&[], BlockKind::Data).is_err());
    }
}
