//! SSTables: immutable sorted files of data blocks, an index block, a bloom filter and a footer.
//!
//! Layout (see `docs/sst.md` for byte diagrams):
//!
//! ```text
//! data block 0 | ... | data block n-1 | filter | properties | index | footer (52 bytes)
//! ```
//!
//! Every block is followed by a 5-byte trailer (kind, CRC32) checked on every read. The
//! decoders ([`block::decode_block`], [`index::Index::decode`], [`bloom::BloomFilter::decode`],
//! [`properties::Properties::decode`], [`footer::Footer::decode`], [`trailer::verify`]) are
//! pure functions over bytes that return an error, never panic, on any input.

pub mod block;
pub mod block_builder;
pub mod block_iter;
pub mod bloom;
pub mod builder;
pub mod cache;
pub mod compare;
pub mod footer;
pub mod format;
pub mod index;
pub mod iter;
pub mod properties;
pub mod reader;
pub mod trailer;

pub use builder::{SstBuilder, TableOptions};
pub use cache::BlockCache;
pub use format::DecodeError;
pub use iter::SstIter;
pub use properties::TableInfo;
pub use reader::SstReader;
