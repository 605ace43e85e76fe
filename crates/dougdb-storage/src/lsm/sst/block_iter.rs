//! A cursor over one decoded [`Block`]: binary search over restart points, then a short
//! linear scan that rebuilds prefix-compressed keys into one reused buffer.

use std::cmp::Ordering;
use std::sync::Arc;

use super::block::Block;
use super::compare::SeekTarget;
use super::format::DecodeResult;

/// A cursor over one block's entries. Errors leave it invalid.
#[derive(Debug)]
pub struct BlockIter {
    block: Arc<Block>,
    /// The current key, rebuilt from the restart entry forward.
    key: Vec<u8>,
    /// Offset of the current value.
    value_start: usize,
    /// One past the current entry: where `next` parses.
    next_pos: usize,
    valid: bool,
}

impl BlockIter {
    /// A cursor over `block`, not yet positioned.
    pub fn new(block: Arc<Block>) -> Self {
        Self::with_key_buffer(block, Vec::with_capacity(64))
    }

    /// As [`BlockIter::new`], rebuilding keys in `buf` (a recycled allocation).
    pub fn with_key_buffer(block: Arc<Block>, mut buf: Vec<u8>) -> Self {
        buf.clear();
        BlockIter {
            block,
            key: buf,
            value_start: 0,
            next_pos: 0,
            valid: false,
        }
    }

    /// Gives back the key buffer for reuse.
    pub fn into_key_buffer(self) -> Vec<u8> {
        self.key
    }

    /// Points the cursor at another block, unpositioned, keeping its key buffer.
    pub fn reset(&mut self, block: Arc<Block>) {
        self.block = block;
        self.key.clear();
        self.next_pos = 0;
        self.valid = false;
    }

    /// The block this cursor walks.
    pub fn block(&self) -> &Arc<Block> {
        &self.block
    }

    /// True while on an entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current key (only while valid).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current value (only while valid).
    pub fn value(&self) -> &[u8] {
        self.block.bytes(self.value_start, self.next_pos)
    }

    /// Moves to the first entry.
    pub fn seek_to_first(&mut self) -> DecodeResult<()> {
        self.key.clear();
        self.next_pos = 0;
        self.next()
    }

    /// Moves to the next entry; invalid past the last.
    // Named after `InternalIterator::next`; a fallible cursor cannot be a std `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> DecodeResult<()> {
        self.valid = false;
        if self.next_pos >= self.block.entries_end() {
            return Ok(());
        }
        let e = self.block.entry_at(self.next_pos)?;
        // Decode validated shared <= previous key length; a restart resets the key.
        self.key.truncate(e.shared);
        self.key
            .extend_from_slice(self.block.bytes(e.delta_start, e.value_start));
        self.value_start = e.value_start;
        self.next_pos = e.end;
        self.valid = true;
        Ok(())
    }

    /// Moves to the first entry whose key is >= `target` (invalid if there is none).
    pub fn seek(&mut self, target: &SeekTarget<'_>) -> DecodeResult<()> {
        self.valid = false;
        let n = self.block.num_restarts();
        if n == 0 {
            return Ok(());
        }
        // First restart whose key is >= target; the answer lies in the run before it.
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let pos = self.block.restart(mid)?;
            let e = self.block.entry_at(pos)?;
            let restart_key = self.block.bytes(e.delta_start, e.value_start);
            if target.cmp_stored(restart_key) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.key.clear();
        self.next_pos = self.block.restart(lo.saturating_sub(1))?;
        loop {
            self.next()?;
            if !self.valid || target.cmp_stored(&self.key) != Ordering::Less {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{self, SeqNo, ValueKind, encode};
    use crate::lsm::sst::block_builder::BlockBuilder;

    fn build(keys: &[Vec<u8>], interval: u32) -> Arc<Block> {
        let mut b = BlockBuilder::new(interval);
        for (i, k) in keys.iter().enumerate() {
            b.add(k, format!("v{i}").as_bytes());
        }
        Arc::new(Block::decode(b.finish()).unwrap())
    }

    fn keys(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                encode(
                    format!("key{:04}", i * 2).as_bytes(),
                    SeqNo(5),
                    ValueKind::Put,
                )
            })
            .collect()
    }

    #[test]
    fn iterates_in_order() {
        let ks = keys(50);
        let mut it = BlockIter::new(build(&ks, 4));
        it.seek_to_first().unwrap();
        for (i, k) in ks.iter().enumerate() {
            assert!(it.valid());
            assert_eq!(it.key(), &k[..]);
            assert_eq!(it.value(), format!("v{i}").as_bytes());
            it.next().unwrap();
        }
        assert!(!it.valid());
    }

    #[test]
    fn seek_lands_on_first_key_at_or_after_target() {
        let ks = keys(50);
        for interval in [1, 3, 16, 100] {
            let mut it = BlockIter::new(build(&ks, interval));
            for probe in 0..102 {
                let t = encode(
                    format!("key{probe:04}").as_bytes(),
                    SeqNo(5),
                    ValueKind::Put,
                );
                it.seek(&SeekTarget::from_encoded(&t)).unwrap();
                let want = ks.iter().find(|k| key::compare(k, &t).is_ge());
                assert_eq!(
                    it.valid(),
                    want.is_some(),
                    "probe {probe} interval {interval}"
                );
                if let Some(w) = want {
                    assert_eq!(it.key(), &w[..]);
                }
            }
        }
    }

    #[test]
    fn empty_block_is_never_valid() {
        let mut it = BlockIter::new(build(&[], 16));
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek(&SeekTarget::Raw(b"")).unwrap();
        assert!(!it.valid());
    }
}
