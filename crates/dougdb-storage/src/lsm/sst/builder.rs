//! Writes one SSTable: data blocks as entries arrive, then the filter, properties and
//! index blocks and the footer, then one sync.
//!
//! File layout: `data block* | filter | properties | index | footer`, every block followed
//! by its 5-byte trailer (kind + CRC32). Writes are batched into large appends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::block::Block;
use super::block_builder::BlockBuilder;
use super::bloom::{BloomBuilder, BloomFilter};
use super::footer::Footer;
use super::format::{
    BlockHandle, DecodeError, MAX_BLOCK_LEN, MAX_BLOCK_SIZE_OPTION, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use super::index::Index;
use super::properties::{Properties, TableInfo};
use super::trailer::{self, BlockKind, TRAILER_LEN};
use crate::error::{Error, Result};
use crate::fs::{SharedFs, WritableFile};
use crate::lsm::key::{self, ValueKind};

/// Appends are batched up to this size: one syscall per batch instead of per block.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Largest bits-per-key accepted: past ~20 the false-positive rate is already ~0.01%.
const MAX_BLOOM_BITS_PER_KEY: u32 = 64;

/// How a table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// A data block is cut once its body reaches this size (it may exceed it by one entry).
    pub block_size_bytes: u32,
    /// Bloom filter budget per distinct user key; 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// Entries between restart points in data blocks.
    pub restart_interval: u32,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size_bytes: 4096,
            bloom_bits_per_key: 10,
            restart_interval: 16,
        }
    }
}

impl TableOptions {
    /// Checks every option is in range.
    pub fn validate(&self) -> Result<()> {
        if self.block_size_bytes == 0 || self.block_size_bytes > MAX_BLOCK_SIZE_OPTION {
            return Err(Error::invalid(format!(
                "block_size_bytes must be in 1..={MAX_BLOCK_SIZE_OPTION}, got {}",
                self.block_size_bytes
            )));
        }
        if self.bloom_bits_per_key > MAX_BLOOM_BITS_PER_KEY {
            return Err(Error::invalid(format!(
                "bloom_bits_per_key must be at most {MAX_BLOOM_BITS_PER_KEY}, got {}",
                self.bloom_bits_per_key
            )));
        }
        if self.restart_interval == 0 || self.restart_interval > u32::from(u16::MAX) {
            return Err(Error::invalid(format!(
                "restart_interval must be in 1..=65535, got {}",
                self.restart_interval
            )));
        }
        Ok(())
    }
}

/// Builds one table file. Dropping it without [`SstBuilder::finish`] leaves a partial
/// file that the caller must delete.
#[derive(Debug)]
pub struct SstBuilder {
    path: PathBuf,
    file: Arc<dyn WritableFile>,
    opts: TableOptions,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: BloomBuilder,
    /// Sealed blocks not yet appended to the file.
    pending: Vec<u8>,
    /// File offset of the next block (appended plus pending bytes).
    offset: u64,
    /// Properties so far; `largest_key` is the last key added.
    props: Properties,
}

impl SstBuilder {
    /// Creates (or truncates) `path` and starts a table.
    pub fn new(fs: SharedFs, path: &Path, opts: TableOptions) -> Result<Self> {
        opts.validate()?;
        let file = fs.create(path)?;
        Ok(SstBuilder {
            path: path.to_path_buf(),
            file,
            opts,
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(1),
            bloom: BloomBuilder::new(opts.bloom_bits_per_key),
            pending: Vec::with_capacity(WRITE_BUFFER_BYTES + opts.block_size_bytes as usize),
            offset: 0,
            props: Properties::default(),
        })
    }

    /// Adds an entry. Keys must be well-formed internal keys in strictly increasing
    /// [`key::compare`] order: anything else is a caller bug and panics. Over-long keys or
    /// values are refused with `InvalidArgument`.
    pub fn add(&mut self, internal_key: &[u8], value: &[u8]) -> Result<()> {
        if internal_key.len() > MAX_KEY_LEN || value.len() > MAX_VALUE_LEN {
            return Err(Error::invalid(format!(
                "entry of key {} bytes and value {} bytes exceeds the table limits \
                 ({MAX_KEY_LEN} and {MAX_VALUE_LEN})",
                internal_key.len(),
                value.len()
            )));
        }
        let Some(parsed) = key::decode(internal_key) else {
            panic!("malformed internal key {internal_key:?}");
        };
        let info = &mut self.props.info;
        assert!(
            info.entries == 0 || key::compare(&info.largest_key, internal_key).is_lt(),
            "keys out of order in {}: {:?} after {:?}",
            self.path.display(),
            internal_key,
            info.largest_key
        );
        let seq = parsed.seq.0;
        if info.entries == 0 {
            info.smallest_key = internal_key.to_vec();
            info.smallest_seq = seq;
            info.largest_seq = seq;
        }
        info.smallest_seq = info.smallest_seq.min(seq);
        info.largest_seq = info.largest_seq.max(seq);
        info.entries += 1;
        if parsed.kind == ValueKind::Delete {
            info.tombstones += 1;
        }
        info.largest_key.clear();
        info.largest_key.extend_from_slice(internal_key);
        self.bloom.add_key(parsed.user_key);
        self.data.add(internal_key, value);
        if self.data.estimated_size() >= self.opts.block_size_bytes as usize {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Bytes the file would have if finished now (approximate for the meta blocks).
    pub fn estimated_size_bytes(&self) -> u64 {
        self.offset
            + self.data.estimated_size() as u64
            + self.index.estimated_size() as u64
            + self.bloom.estimated_size() as u64
            + self.props.info.smallest_key.len() as u64 * 2
            + 128
            + Footer::ENCODED_LEN as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.props.info.entries
    }

    /// Writes the remaining blocks and the footer and syncs the file. The caller syncs the
    /// directory to make the file's name durable.
    pub fn finish(mut self) -> Result<TableInfo> {
        if !self.data.is_empty() {
            self.flush_data_block()?;
        }
        let filter = self.bloom.finish();
        // Re-read what was built through the reader's decoders: cheap once per table, and
        // a table that would not open is never written.
        BloomFilter::decode(filter.clone()).map_err(|e| self.built_wrong(e))?;
        let filter = self.write_block(&filter, BlockKind::Filter)?;

        let props = self.props.encode();
        Properties::decode(&props).map_err(|e| self.built_wrong(e))?;
        let properties = self.write_block(&props, BlockKind::Properties)?;

        let index_body = self.index.finish();
        let index = Index::decode(index_body.clone()).map_err(|e| self.built_wrong(e))?;
        if index.len() as u64 != self.props.data_blocks {
            let e = DecodeError::new("index entries differ from data blocks written");
            return Err(self.built_wrong(e));
        }
        let index = self.write_block(&index_body, BlockKind::Index)?;

        let footer = Footer {
            filter,
            properties,
            index,
        };
        self.pending.extend_from_slice(&footer.encode());
        self.offset += Footer::ENCODED_LEN as u64;
        self.flush_pending()?;
        self.file.sync()?;
        let mut info = self.props.info;
        info.size_bytes = self.offset;
        Ok(info)
    }

    fn flush_data_block(&mut self) -> Result<()> {
        // Validate the block through the reader's decoder before it reaches the disk.
        let body = Block::decode(self.data.finish())
            .map_err(|e| self.built_wrong(e))?
            .into_bytes();
        let handle = self.write_block(&body, BlockKind::Data)?;
        let mut v = [0u8; BlockHandle::ENCODED_LEN];
        v[..8].copy_from_slice(&handle.offset.to_le_bytes());
        v[8..].copy_from_slice(&handle.len.to_le_bytes());
        self.index.add(&self.props.info.largest_key, &v);
        self.props.data_blocks += 1;
        Ok(())
    }

    /// Seals `body` with its trailer into the pending buffer; returns its handle.
    fn write_block(&mut self, body: &[u8], kind: BlockKind) -> Result<BlockHandle> {
        if body.len() > MAX_BLOCK_LEN {
            return Err(Error::invalid(format!(
                "{kind:?} block of {} bytes exceeds the {MAX_BLOCK_LEN}-byte block limit",
                body.len()
            )));
        }
        let handle = BlockHandle {
            offset: self.offset,
            len: body.len() as u32,
        };
        self.pending.extend_from_slice(body);
        trailer::append_trailer(&mut self.pending, body, kind);
        self.offset += (body.len() + TRAILER_LEN) as u64;
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.flush_pending()?;
        }
        Ok(handle)
    }

    fn flush_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.file.append(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// A block that fails its own decoder is a bug in this module, reported rather than
    /// written; it names the file so the failure is traceable.
    fn built_wrong(&self, e: DecodeError) -> Error {
        debug_assert!(false, "built an undecodable block: {e}");
        Error::corruption(
            &self.path,
            self.offset,
            format!("built block fails its decoder: {e}"),
        )
    }
}
