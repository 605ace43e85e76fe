//! Opens a table: reads and verifies the footer, filter, properties and index once, keeps
//! them decoded in memory, and serves point lookups and block reads (through the cache).
//!
//! Every byte read from the file is checked (block CRC, then the block's decoder) before
//! it is used; a failure is `Corruption` naming the file and the block's offset.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::block::Block;
use super::block_iter::BlockIter;
use super::bloom::BloomFilter;
use super::cache::BlockCache;
use super::compare::{SeekTarget, split};
use super::footer::Footer;
use super::format::{BlockHandle, DecodeError};
use super::index::Index;
use super::iter::SstIter;
use super::properties::{Properties, TableInfo};
use super::trailer::{self, BlockKind};
use crate::error::{Error, Result};
use crate::fs::{ReadableFile, SharedFs};
use crate::lsm::key::{SeqNo, ValueKind};
use crate::lsm::policy::TableId;

thread_local! {
    /// Per-thread key buffer for point lookups.
    static KEY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An open, immutable table. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct SstReader {
    path: PathBuf,
    id: TableId,
    file: Arc<dyn ReadableFile>,
    cache: Option<Arc<BlockCache>>,
    index: Index,
    filter: BloomFilter,
    info: TableInfo,
}

impl SstReader {
    /// Opens `path`, verifying the footer and every meta block.
    pub fn open(
        fs: SharedFs,
        path: &Path,
        id: TableId,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Arc<Self>> {
        let file = fs.open_read(path)?;
        let len = file.len()?;
        let footer_at = len.checked_sub(Footer::ENCODED_LEN as u64).ok_or_else(|| {
            Error::corruption(path, 0, format!("{len} bytes is too short for a table"))
        })?;
        let mut raw = [0u8; Footer::ENCODED_LEN];
        file.read_exact_at(&mut raw, footer_at)?;
        let footer = Footer::decode(&raw).map_err(|e| e.at(path, footer_at))?;
        check_meta_layout(&footer, footer_at).map_err(|e| e.at(path, footer_at))?;

        let read = |h: BlockHandle, kind| read_verified(file.as_ref(), path, h, kind);
        let filter = BloomFilter::decode(read(footer.filter, BlockKind::Filter)?)
            .map_err(|e| e.at(path, footer.filter.offset))?;
        let props = Properties::decode(&read(footer.properties, BlockKind::Properties)?)
            .map_err(|e| e.at(path, footer.properties.offset))?;
        let index = Index::decode(read(footer.index, BlockKind::Index)?)
            .map_err(|e| e.at(path, footer.index.offset))?;
        index
            .check_layout(footer.filter.offset)
            .map_err(|e| e.at(path, footer.index.offset))?;
        if index.len() as u64 != props.data_blocks {
            return Err(Error::corruption(
                path,
                footer.index.offset,
                format!(
                    "index lists {} data blocks, properties say {}",
                    index.len(),
                    props.data_blocks
                ),
            ));
        }
        let mut info = props.info;
        info.size_bytes = len;
        Ok(Arc::new(SstReader {
            path: path.to_path_buf(),
            id,
            file,
            cache,
            index,
            filter,
            info,
        }))
    }

    /// The newest version of `user_key` with seq <= `snapshot`: `(seq, kind, value)`,
    /// the value empty for a tombstone. Checks the bloom filter first.
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
        if !self.filter.may_contain(user_key) {
            return Ok(None);
        }
        let target = SeekTarget::for_get(user_key, snapshot);
        let i = self.index.find(&target);
        let Some(handle) = self.index.handle(i) else {
            return Ok(None);
        };
        // Reuse this thread's key buffer: a point lookup then allocates only its result.
        let mut it = BlockIter::with_key_buffer(self.block(handle, true)?, KEY_BUFFER.take());
        let found = self.found_in(&mut it, &target, user_key, handle);
        KEY_BUFFER.set(it.into_key_buffer());
        found
    }

    /// Seeks `it` (on the block at `handle`) to `target`; the entry if it is `user_key`.
    fn found_in(
        &self,
        it: &mut BlockIter,
        target: &SeekTarget<'_>,
        user_key: &[u8],
        handle: BlockHandle,
    ) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
        it.seek(target)
            .map_err(|e| e.at(&self.path, handle.offset))?;
        if !it.valid() {
            // The index promised a key >= target in this block.
            return Err(Error::corruption(
                &self.path,
                handle.offset,
                "block ends before the key its index entry names",
            ));
        }
        let Some((found, trailer)) = split(it.key()) else {
            return Err(Error::corruption(
                &self.path,
                handle.offset,
                "malformed key",
            ));
        };
        if found != user_key {
            return Ok(None);
        }
        let kind = if trailer & 0xff == ValueKind::Put as u64 {
            ValueKind::Put
        } else {
            ValueKind::Delete
        };
        Ok(Some((SeqNo(trailer >> 8), kind, it.value().to_vec())))
    }

    /// False only if no version of `user_key` is in the table.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter.may_contain(user_key)
    }

    /// A cursor over the whole table; it holds this reader alive. Blocks it reads are
    /// added to the cache.
    pub fn iter(self: &Arc<Self>) -> SstIter {
        SstIter::new(Arc::clone(self), true)
    }

    /// As [`SstReader::iter`], but blocks read from the file are not added to the cache
    /// (cached ones are still used): for compaction, whose one pass over a table would
    /// otherwise evict the blocks point reads need.
    pub fn iter_without_caching(self: &Arc<Self>) -> SstIter {
        SstIter::new(Arc::clone(self), false)
    }

    /// The table's id.
    pub fn id(&self) -> TableId {
        self.id
    }

    /// The table's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts, key range and sequence range, as recorded in the file.
    pub fn info(&self) -> &TableInfo {
        &self.info
    }

    /// Memory pinned by this reader (index and filter), excluding cached blocks.
    pub fn memory_bytes(&self) -> usize {
        self.index.size_bytes() + self.filter.size_bytes()
    }

    /// The in-memory index.
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// Data block `handle`, from the cache or read and verified (then cached if
    /// `fill_cache`).
    pub(crate) fn block(&self, handle: BlockHandle, fill_cache: bool) -> Result<Arc<Block>> {
        if let Some(cache) = &self.cache
            && let Some(block) = cache.get(self.id, handle.offset)
        {
            return Ok(block);
        }
        let raw = read_verified(self.file.as_ref(), &self.path, handle, BlockKind::Data)?;
        let block = Arc::new(Block::decode(raw).map_err(|e| e.at(&self.path, handle.offset))?);
        if let Some(cache) = &self.cache
            && fill_cache
        {
            cache.insert(self.id, handle.offset, Arc::clone(&block));
        }
        Ok(block)
    }

    /// Maps a decoder error in block `handle` to `Corruption` naming this table.
    pub(crate) fn corrupt(&self, handle: BlockHandle, e: DecodeError) -> Error {
        e.at(&self.path, handle.offset)
    }
}

/// Checks the meta blocks tile the tail of the file in order: filter, properties, index,
/// then the footer. This bounds every handle by the file length before anything is
/// allocated from a length read off the disk.
fn check_meta_layout(f: &Footer, footer_at: u64) -> Result<(), DecodeError> {
    let order = [f.filter, f.properties, f.index];
    for pair in order.windows(2) {
        if pair[0].end_with_trailer() != Some(pair[1].offset) {
            return Err(DecodeError::new(format!(
                "meta blocks are not contiguous: {:?} then {:?}",
                pair[0], pair[1]
            )));
        }
    }
    if f.index.end_with_trailer() != Some(footer_at) {
        return Err(DecodeError::new(format!(
            "index block {:?} does not end at the footer ({footer_at})",
            f.index
        )));
    }
    Ok(())
}

/// Reads block `h` with its trailer, checks the CRC and kind, returns the body.
fn read_verified(
    file: &dyn ReadableFile,
    path: &Path,
    h: BlockHandle,
    kind: BlockKind,
) -> Result<Vec<u8>> {
    let mut raw = vec![0u8; h.len as usize + trailer::TRAILER_LEN];
    file.read_exact_at(&mut raw, h.offset)?;
    let body_len = trailer::verify(&raw, kind).map_err(|e| e.at(path, h.offset))?;
    raw.truncate(body_len);
    Ok(raw)
}
