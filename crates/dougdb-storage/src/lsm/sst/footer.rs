//! The fixed-size footer at the very end of a table: where the meta blocks are, the format
//! version, a CRC32 of the footer itself, and a magic number.
//!
//! ```text
//! offset  0: filter handle      offset u64 LE | len u32 LE
//! offset 12: properties handle  offset u64 LE | len u32 LE
//! offset 24: index handle       offset u64 LE | len u32 LE
//! offset 36: format_version u32 LE
//! offset 40: crc32 u32 LE over bytes 0..40
//! offset 44: magic u64 LE = 0x5453_5342_4447_5544 ("DUGDBSST" read as LE bytes: b"DUGDBSST")
//! total: 52 bytes
//! ```

use super::format::{BlockHandle, DecodeError, DecodeResult, read_u32, read_u64, slice};

/// Identifies a DougDB SSTable.
pub const MAGIC: u64 = u64::from_le_bytes(*b"DUGDBSST");

/// The only format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Where the table's meta blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footer {
    /// The bloom filter block.
    pub filter: BlockHandle,
    /// The properties block.
    pub properties: BlockHandle,
    /// The index block.
    pub index: BlockHandle,
}

impl Footer {
    /// Encoded width.
    pub const ENCODED_LEN: usize = 3 * BlockHandle::ENCODED_LEN + 4 + 4 + 8;

    /// The footer's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        self.filter.encode_into(&mut out);
        self.properties.encode_into(&mut out);
        self.index.encode_into(&mut out);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out
    }

    /// Decodes exactly [`Footer::ENCODED_LEN`] bytes. Never panics.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DecodeError::new(format!(
                "footer is {} bytes, expected {}",
                bytes.len(),
                Self::ENCODED_LEN
            )));
        }
        // Magic first: a file that is not a table (or is truncated) says so plainly.
        let magic = read_u64(bytes, 44)?;
        if magic != MAGIC {
            return Err(DecodeError::new(format!(
                "bad magic {magic:#018x}: not an SSTable, or truncated"
            )));
        }
        let stored = read_u32(bytes, 40)?;
        let actual = crc32fast::hash(slice(bytes, 0, 40)?);
        if stored != actual {
            return Err(DecodeError::new(format!(
                "footer checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"
            )));
        }
        let version = read_u32(bytes, 36)?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::new(format!(
                "unsupported format version {version} (this build reads {FORMAT_VERSION})"
            )));
        }
        Ok(Footer {
            filter: BlockHandle::decode(slice(bytes, 0, 12)?)?,
            properties: BlockHandle::decode(slice(bytes, 12, 12)?)?,
            index: BlockHandle::decode(slice(bytes, 24, 12)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Footer {
        Footer {
            filter: BlockHandle {
                offset: 100,
                len: 72,
            },
            properties: BlockHandle {
                offset: 177,
                len: 60,
            },
            index: BlockHandle {
                offset: 242,
                len: 40,
            },
        }
    }

    #[test]
    fn round_trips_at_fixed_width() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), Footer::ENCODED_LEN);
        assert_eq!(Footer::ENCODED_LEN, 52);
        assert_eq!(Footer::decode(&bytes).unwrap(), sample());
        assert_eq!(&bytes[44..], b"DUGDBSST");
    }

    #[test]
    fn any_flipped_bit_is_rejected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                assert!(Footer::decode(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn wrong_length_is_rejected() {
        let bytes = sample().encode();
        assert!(Footer::decode(&bytes[1..]).is_err());
        assert!(Footer::decode(&[]).is_err());
    }
}
