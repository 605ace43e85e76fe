//! The properties block: what a table holds (counts, key range, sequence range), so the
//! engine can rebuild its summaries from the file alone.
//!
//! ```text
//! +-------------+----------------+------------------+-----------------+
//! | entries u64 | tombstones u64 | smallest_seq u64 | largest_seq u64 |
//! +-------------+----------------+------------------+-----------------+
//! | data_blocks u64 | smallest_len u32 | smallest_key | largest_len u32 | largest_key |
//! +-----------------+------------------+--------------+-----------------+-------------+
//! ```
//!
//! All integers little endian. Keys are encoded internal keys; both are empty (and the
//! sequence range is 0..=0) for a table without entries.

use super::compare::split;
use super::format::{DecodeError, DecodeResult, read_u32, read_u64, slice};
use crate::lsm::key;

/// What the engine knows about a table without reading its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableInfo {
    /// Size of the whole file in bytes.
    pub size_bytes: u64,
    /// Entries (puts and tombstones).
    pub entries: u64,
    /// Tombstones among the entries.
    pub tombstones: u64,
    /// Smallest encoded internal key (empty for an empty table).
    pub smallest_key: Vec<u8>,
    /// Largest encoded internal key (empty for an empty table).
    pub largest_key: Vec<u8>,
    /// Smallest sequence number of any entry.
    pub smallest_seq: u64,
    /// Largest sequence number of any entry.
    pub largest_seq: u64,
}

/// The decoded properties block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    /// Everything in [`TableInfo`] except `size_bytes`, which is the file's length.
    pub info: TableInfo,
    /// Number of data blocks (cross-checked against the index on open).
    pub data_blocks: u64,
}

/// Width of the fixed part before the keys.
const FIXED_LEN: usize = 5 * 8;

impl Properties {
    /// The block body.
    pub fn encode(&self) -> Vec<u8> {
        let i = &self.info;
        let mut out =
            Vec::with_capacity(FIXED_LEN + 8 + i.smallest_key.len() + i.largest_key.len());
        for v in [
            i.entries,
            i.tombstones,
            i.smallest_seq,
            i.largest_seq,
            self.data_blocks,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for k in [&i.smallest_key, &i.largest_key] {
            // Keys are bounded by MAX_KEY_LEN (u16) in the builder, so u32 always fits.
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(k);
        }
        out
    }

    /// Decodes and sanity-checks a properties body. Never panics.
    pub fn decode(body: &[u8]) -> DecodeResult<Self> {
        let entries = read_u64(body, 0)?;
        let tombstones = read_u64(body, 8)?;
        let smallest_seq = read_u64(body, 16)?;
        let largest_seq = read_u64(body, 24)?;
        let data_blocks = read_u64(body, 32)?;
        let small_len = read_u32(body, FIXED_LEN)? as usize;
        let smallest_key = slice(body, FIXED_LEN + 4, small_len)?.to_vec();
        let large_at = FIXED_LEN + 4 + small_len;
        let large_len = read_u32(body, large_at)? as usize;
        let largest_key = slice(body, large_at + 4, large_len)?.to_vec();
        if large_at + 4 + large_len != body.len() {
            return Err(DecodeError::new("trailing bytes after the properties"));
        }
        if tombstones > entries || smallest_seq > largest_seq {
            return Err(DecodeError::new(format!(
                "inconsistent properties: {tombstones} tombstones of {entries} entries, \
                 seqs {smallest_seq}..={largest_seq}"
            )));
        }
        if entries == 0 {
            if !smallest_key.is_empty() || !largest_key.is_empty() || data_blocks != 0 {
                return Err(DecodeError::new("an empty table with keys or blocks"));
            }
        } else {
            if split(&smallest_key).is_none() || split(&largest_key).is_none() {
                return Err(DecodeError::new("malformed smallest or largest key"));
            }
            if key::compare(&smallest_key, &largest_key).is_gt() || data_blocks == 0 {
                return Err(DecodeError::new("key range or block count out of order"));
            }
        }
        Ok(Properties {
            info: TableInfo {
                size_bytes: 0,
                entries,
                tombstones,
                smallest_key,
                largest_key,
                smallest_seq,
                largest_seq,
            },
            data_blocks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{SeqNo, ValueKind, encode};

    fn sample() -> Properties {
        Properties {
            info: TableInfo {
                size_bytes: 0,
                entries: 10,
                tombstones: 3,
                smallest_key: encode(b"a", SeqNo(9), ValueKind::Put),
                largest_key: encode(b"z", SeqNo(2), ValueKind::Delete),
                smallest_seq: 2,
                largest_seq: 9,
            },
            data_blocks: 2,
        }
    }

    #[test]
    fn round_trips() {
        let p = sample();
        assert_eq!(Properties::decode(&p.encode()).unwrap(), p);
        let empty = Properties::default();
        assert_eq!(Properties::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn rejects_inconsistent_or_truncated_input() {
        let body = sample().encode();
        for cut in 0..body.len() {
            assert!(Properties::decode(&body[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = body.clone();
        extra.push(0);
        assert!(Properties::decode(&extra).is_err());
        let mut bad = sample();
        bad.info.tombstones = 11;
        assert!(Properties::decode(&bad.encode()).is_err());
        let mut bad = sample();
        std::mem::swap(&mut bad.info.smallest_key, &mut bad.info.largest_key);
        assert!(Properties::decode(&bad.encode()).is_err());
    }
}
