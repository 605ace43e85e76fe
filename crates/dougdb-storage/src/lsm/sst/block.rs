//! A decoded block body (data or index): validated once when decoded, then searched by
//! [`super::block_iter::BlockIter`] without further allocation.
//!
//! ```text
//! +---------+---------+-----+-------------+-------------+-----+------------------+
//! | entry 0 | entry 1 | ... | restart[0]  | restart[1]  | ... | num_restarts u32 |
//! +---------+---------+-----+-------------+-------------+-----+------------------+
//!                              u32 LE offsets of entries stored with shared = 0
//!
//! entry: shared u16 LE | unshared u16 LE | value_len u32 LE | key[shared..] | value
//! ```
//!
//! `shared` bytes of the key are the previous entry's; restart entries have `shared = 0`
//! so a binary search over restarts reads whole keys in place. An empty block is the four
//! bytes `num_restarts = 0`.

use super::block_builder::ENTRY_HEADER_LEN;
use super::compare::split;
use super::format::{DecodeError, DecodeResult, read_u16, read_u32};
use crate::lsm::key::TRAILER_LEN;

/// A validated block body: every entry is in bounds, every key is a well-formed internal
/// key, and every restart points at an entry with `shared = 0`.
#[derive(Debug)]
pub struct Block {
    /// The body, without its trailer.
    data: Vec<u8>,
    /// Offset where the restart array begins (one past the last entry).
    entries_end: usize,
    /// Restart points; the array is `data[entries_end..entries_end + 4 * n]`.
    num_restarts: usize,
    /// Entries in the block.
    entries: usize,
}

/// The parsed layout of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryLayout {
    /// Key bytes taken from the previous key.
    pub shared: usize,
    /// Offset of the unshared key bytes.
    pub delta_start: usize,
    /// Offset of the value (one past the unshared key bytes).
    pub value_start: usize,
    /// One past the value: the next entry's offset.
    pub end: usize,
}

/// Decodes a block body (copying it); see [`Block::decode`].
pub fn decode_block(bytes: &[u8]) -> DecodeResult<Block> {
    Block::decode(bytes.to_vec())
}

impl Block {
    /// Validates `data` as a block body and takes ownership of it. Never panics.
    pub fn decode(data: Vec<u8>) -> DecodeResult<Block> {
        let count_at = data
            .len()
            .checked_sub(4)
            .ok_or_else(|| DecodeError::new(format!("block of {} bytes", data.len())))?;
        let num_restarts = read_u32(&data, count_at)? as usize;
        let entries_end = num_restarts
            .checked_mul(4)
            .and_then(|restart_bytes| count_at.checked_sub(restart_bytes))
            .ok_or_else(|| {
                DecodeError::new(format!(
                    "{num_restarts} restarts do not fit a block of {} bytes",
                    data.len()
                ))
            })?;
        let mut block = Block {
            data,
            entries_end,
            num_restarts,
            entries: 0,
        };
        block.entries = block.validate()?;
        Ok(block)
    }

    /// Walks every entry once; returns the entry count.
    fn validate(&self) -> DecodeResult<usize> {
        if self.num_restarts == 0 {
            if self.entries_end != 0 {
                return Err(DecodeError::new("entries without restart points"));
            }
            return Ok(0);
        }
        let mut key: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut next_restart = 0;
        let mut entries = 0;
        while pos < self.entries_end {
            let e = self.entry_at(pos)?;
            if e.shared > key.len() {
                return Err(DecodeError::new(format!(
                    "entry at {pos} shares {} bytes of a {}-byte key",
                    e.shared,
                    key.len()
                )));
            }
            if next_restart < self.num_restarts && self.restart(next_restart)? == pos {
                if e.shared != 0 {
                    return Err(DecodeError::new(format!(
                        "restart entry at {pos} shares bytes"
                    )));
                }
                next_restart += 1;
            } else if entries == 0 {
                return Err(DecodeError::new("first restart is not offset 0"));
            }
            key.truncate(e.shared);
            key.extend_from_slice(
                self.data
                    .get(e.delta_start..e.value_start)
                    .unwrap_or_default(),
            );
            if split(&key).is_none() {
                return Err(DecodeError::new(format!(
                    "entry at {pos} has a malformed internal key ({} bytes)",
                    key.len()
                )));
            }
            entries += 1;
            pos = e.end;
        }
        if next_restart != self.num_restarts {
            return Err(DecodeError::new(format!(
                "restart {next_restart} does not point at an entry"
            )));
        }
        Ok(entries)
    }

    /// Parses the entry header at `pos` and checks it lies within the entry area.
    pub fn entry_at(&self, pos: usize) -> DecodeResult<EntryLayout> {
        let header_end = pos
            .checked_add(ENTRY_HEADER_LEN)
            .filter(|&end| end <= self.entries_end)
            .ok_or_else(|| DecodeError::new(format!("entry header at {pos} is out of bounds")))?;
        let shared = usize::from(read_u16(&self.data, pos)?);
        let unshared = usize::from(read_u16(&self.data, pos + 2)?);
        let value_len = read_u32(&self.data, pos + 4)? as usize;
        let value_start = header_end + unshared;
        let end = value_start
            .checked_add(value_len)
            .filter(|&end| end <= self.entries_end)
            .ok_or_else(|| DecodeError::new(format!("entry at {pos} runs past the entries")))?;
        if shared + unshared < TRAILER_LEN {
            return Err(DecodeError::new(format!("entry at {pos} has a short key")));
        }
        Ok(EntryLayout {
            shared,
            delta_start: header_end,
            value_start,
            end,
        })
    }

    /// Offset of restart entry `i` (checked against the entry area).
    pub fn restart(&self, i: usize) -> DecodeResult<usize> {
        let at = i
            .checked_mul(4)
            .and_then(|b| b.checked_add(self.entries_end))
            .ok_or_else(|| DecodeError::new("restart index overflow"))?;
        let offset = read_u32(&self.data, at)? as usize;
        if offset >= self.entries_end {
            return Err(DecodeError::new(format!(
                "restart {i} points past the entries"
            )));
        }
        Ok(offset)
    }

    /// Number of restart points.
    pub fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// One past the last entry.
    pub fn entries_end(&self) -> usize {
        self.entries_end
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True for a block without entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes held in memory (what a cache charges for it).
    pub fn size_bytes(&self) -> usize {
        self.data.capacity() + std::mem::size_of::<Self>()
    }

    /// Gives the body back (the builder validates what it built, then writes these bytes).
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// `data[start..end]`, empty if out of range (layouts come from `entry_at`, so in range).
    pub fn bytes(&self, start: usize, end: usize) -> &[u8] {
        self.data.get(start..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{SeqNo, ValueKind, encode};
    use crate::lsm::sst::block_builder::BlockBuilder;

    fn k(s: &str, seq: u64) -> Vec<u8> {
        encode(s.as_bytes(), SeqNo(seq), ValueKind::Put)
    }

    #[test]
    fn decodes_what_the_builder_built() {
        let mut b = BlockBuilder::new(3);
        for i in 0..10 {
            b.add(&k(&format!("key{i:02}"), 1), b"v");
        }
        let block = Block::decode(b.finish()).unwrap();
        assert_eq!(block.len(), 10);
        assert_eq!(block.num_restarts(), 4);
        assert!(
            Block::decode(BlockBuilder::new(1).finish())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rejects_structural_damage() {
        let mut b = BlockBuilder::new(2);
        for i in 0..4 {
            b.add(&k(&format!("key{i}"), 1), b"value");
        }
        let good = b.finish();
        // Short key in the first entry.
        let mut bad = good.clone();
        bad[2] = 3;
        assert!(Block::decode(bad).is_err());
        // Restart count too large.
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 4] = 200;
        assert!(Block::decode(bad).is_err());
        // Restart pointing into the middle of an entry.
        let mut bad = good.clone();
        bad[n - 8] += 1;
        assert!(Block::decode(bad).is_err());
        // A shared prefix longer than the previous key.
        let mut bad = good.clone();
        let second = 8 + 12 + 5;
        bad[second] = 60;
        assert!(Block::decode(bad).is_err());
        // Unknown kind in a key.
        let mut bad = good;
        bad[8 + 4] = 9;
        assert!(Block::decode(bad).is_err());
        assert!(decode_block(&[1, 2]).is_err());
        assert!(decode_block(&[0xff; 4]).is_err());
    }
}
