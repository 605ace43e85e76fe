//! The index: one entry per data block, `last key of the block -> block handle`, kept
//! decoded in memory so `get` binary-searches it without touching the file.
//!
//! On disk the index block is an ordinary block (see [`super::block`]) built with a
//! restart interval of 1, whose values are 12-byte [`BlockHandle`]s. The first data block
//! whose last key is >= a target is the only one that can hold the target's first match.

use std::cmp::Ordering;
use std::sync::Arc;

use super::block::Block;
use super::block_iter::BlockIter;
use super::compare::SeekTarget;
use super::format::{BlockHandle, DecodeError, DecodeResult};
use crate::lsm::key;

/// The decoded index, flattened: one allocation for all keys instead of one per key.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Every block's last key, concatenated.
    keys: Vec<u8>,
    /// `keys[ends[i-1]..ends[i]]` is block i's last key.
    ends: Vec<usize>,
    /// Block i's handle.
    handles: Vec<BlockHandle>,
}

impl Index {
    /// Decodes an index block body; checks handles' widths and that keys strictly
    /// increase. Never panics.
    pub fn decode(body: Vec<u8>) -> DecodeResult<Self> {
        let block = Arc::new(Block::decode(body)?);
        let n = block.len();
        let mut index = Index {
            keys: Vec::new(),
            ends: Vec::with_capacity(n),
            handles: Vec::with_capacity(n),
        };
        let mut it = BlockIter::new(block);
        it.seek_to_first()?;
        while it.valid() {
            if let Some(prev) = index.len().checked_sub(1)
                && key::compare(index.key(prev), it.key()) != Ordering::Less
            {
                let at = index.len();
                return Err(DecodeError::new(format!("index key {at} is out of order")));
            }
            index.handles.push(BlockHandle::decode(it.value())?);
            index.keys.extend_from_slice(it.key());
            index.ends.push(index.keys.len());
            it.next()?;
        }
        Ok(index)
    }

    /// Checks the handles tile `[0, data_end)` exactly, in order: no gaps, no overlap,
    /// nothing past the data area.
    pub fn check_layout(&self, data_end: u64) -> DecodeResult<()> {
        let mut expect = 0u64;
        for (i, h) in self.handles.iter().enumerate() {
            if h.offset != expect {
                return Err(DecodeError::new(format!(
                    "data block {i} at {} but the previous block ends at {expect}",
                    h.offset
                )));
            }
            expect = h
                .end_with_trailer()
                .ok_or_else(|| DecodeError::new("block handle overflows"))?;
        }
        if expect != data_end {
            return Err(DecodeError::new(format!(
                "data blocks end at {expect}, the filter starts at {data_end}"
            )));
        }
        Ok(())
    }

    /// Number of data blocks.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True for a table without data blocks.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Last key of block `i` (empty if out of range).
    pub fn key(&self, i: usize) -> &[u8] {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.ends.get(p))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.keys.get(start..end).unwrap_or_default()
    }

    /// Handle of block `i`.
    pub fn handle(&self, i: usize) -> Option<BlockHandle> {
        self.handles.get(i).copied()
    }

    /// The first block whose last key is >= `target`; `len()` when the target is past
    /// every key in the table.
    pub fn find(&self, target: &SeekTarget<'_>) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if target.cmp_stored(self.key(mid)) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Bytes held in memory.
    pub fn size_bytes(&self) -> usize {
        self.keys.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.handles.capacity() * std::mem::size_of::<BlockHandle>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{SeqNo, ValueKind, encode};
    use crate::lsm::sst::block_builder::BlockBuilder;

    fn index_body(keys: &[&str], lens: &[u32]) -> Vec<u8> {
        let mut b = BlockBuilder::new(1);
        let mut offset = 0;
        for (k, &len) in keys.iter().zip(lens) {
            let mut v = Vec::new();
            BlockHandle { offset, len }.encode_into(&mut v);
            b.add(&encode(k.as_bytes(), SeqNo(1), ValueKind::Put), &v);
            offset += u64::from(len) + 5;
        }
        b.finish()
    }

    #[test]
    fn finds_the_first_block_that_can_hold_the_target() {
        let index = Index::decode(index_body(&["c", "f", "k"], &[10, 20, 30])).unwrap();
        assert_eq!(index.len(), 3);
        index.check_layout(75).unwrap();
        assert!(index.check_layout(76).is_err());
        let find = |u: &str| index.find(&SeekTarget::for_get(u.as_bytes(), SeqNo(9)));
        assert_eq!(find("a"), 0);
        assert_eq!(find("c"), 0);
        assert_eq!(find("d"), 1);
        assert_eq!(find("k"), 2);
        assert_eq!(find("z"), 3);
    }

    #[test]
    fn rejects_unordered_keys_and_bad_handles() {
        assert!(Index::decode(index_body(&["f", "c"], &[1, 1])).is_err());
        let mut b = BlockBuilder::new(1);
        b.add(&encode(b"a", SeqNo(1), ValueKind::Put), b"short");
        assert!(Index::decode(b.finish()).is_err());
    }

    #[test]
    fn empty_index_is_fine_for_an_empty_table() {
        let index = Index::decode(BlockBuilder::new(1).finish()).unwrap();
        assert!(index.is_empty());
        index.check_layout(0).unwrap();
        assert_eq!(index.find(&SeekTarget::Raw(b"x")), 0);
    }
}
