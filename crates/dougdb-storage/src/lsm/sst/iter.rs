//! [`SstIter`]: the table's [`InternalIterator`], walking data blocks in index order and
//! moving to the next block when one runs out.

use std::sync::Arc;

use super::block_iter::BlockIter;
use super::compare::SeekTarget;
use super::format::BlockHandle;
use super::reader::SstReader;
use crate::error::Result;
use crate::lsm::iter::InternalIterator;

/// A cursor over a whole table. Owns an `Arc` of its reader, so it may outlive the
/// handle it came from and move between threads.
#[derive(Debug)]
pub struct SstIter {
    reader: Arc<SstReader>,
    /// Index position of the current block.
    block_idx: usize,
    /// The current block's handle, for error reports.
    handle: BlockHandle,
    /// Cursor in the current block; `None` before the first seek and after an error.
    cur: Option<BlockIter>,
    /// Whether blocks read from the file go into the cache.
    fill_cache: bool,
}

impl SstIter {
    pub(crate) fn new(reader: Arc<SstReader>, fill_cache: bool) -> Self {
        SstIter {
            reader,
            block_idx: 0,
            handle: BlockHandle::default(),
            cur: None,
            fill_cache,
        }
    }

    /// The table this cursor walks.
    pub fn reader(&self) -> &Arc<SstReader> {
        &self.reader
    }

    /// Positions on block `i`, unpositioned within it; `false` past the last block.
    fn load(&mut self, i: usize) -> Result<bool> {
        self.block_idx = i;
        let Some(handle) = self.reader.index().handle(i) else {
            self.cur = None;
            return Ok(false);
        };
        self.handle = handle;
        let block = self.reader.block(handle, self.fill_cache)?;
        match &mut self.cur {
            Some(it) => it.reset(block),
            None => self.cur = Some(BlockIter::new(block)),
        }
        Ok(true)
    }

    /// While the block cursor is exhausted, moves to the start of the next block.
    fn skip_exhausted_blocks(&mut self) -> Result<()> {
        while self.cur.as_ref().is_some_and(|it| !it.valid()) {
            if !self.load(self.block_idx + 1)? {
                return Ok(());
            }
            self.with_block(BlockIter::seek_to_first)?;
        }
        Ok(())
    }

    /// Runs a block-cursor move, turning a decode error into `Corruption` for this block.
    fn with_block(
        &mut self,
        f: impl FnOnce(&mut BlockIter) -> super::format::DecodeResult<()>,
    ) -> Result<()> {
        let Some(it) = &mut self.cur else {
            return Ok(());
        };
        if let Err(e) = f(it) {
            self.cur = None;
            return Err(self.reader.corrupt(self.handle, e));
        }
        Ok(())
    }

    /// Runs `f`, leaving the cursor invalid if it fails.
    fn guarded(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = f(self);
        if r.is_err() {
            self.cur = None;
        }
        r
    }
}

impl InternalIterator for SstIter {
    fn valid(&self) -> bool {
        self.cur.as_ref().is_some_and(BlockIter::valid)
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            if s.load(0)? {
                s.with_block(BlockIter::seek_to_first)?;
            }
            s.skip_exhausted_blocks()
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let t = SeekTarget::from_encoded(target);
        self.guarded(|s| {
            let i = s.reader.index().find(&t);
            if s.load(i)? {
                s.with_block(|it| it.seek(&t))?;
            }
            s.skip_exhausted_blocks()
        })
    }

    fn next(&mut self) -> Result<()> {
        self.guarded(|s| {
            if !s.valid() {
                return Ok(());
            }
            s.with_block(BlockIter::next)?;
            s.skip_exhausted_blocks()
        })
    }

    fn key(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], BlockIter::key)
    }

    fn value(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], BlockIter::value)
    }
}
