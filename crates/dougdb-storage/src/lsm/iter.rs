//! The iterator contract shared by memtables, SSTables and the merging iterator: a cursor
//! over encoded internal keys (see [`super::key`]) in [`super::key::compare`] order.

use crate::error::Result;

/// A positioned cursor over `(internal key, value)` pairs in internal-key order.
///
/// `key` and `value` may only be called while `valid()` is true. Errors (a corrupt block,
/// an I/O failure) are returned by the moving calls and leave the cursor invalid.
pub trait InternalIterator: Send {
    /// True while the cursor is on an entry.
    fn valid(&self) -> bool;
    /// Moves to the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
    /// Moves to the first entry whose key is >= `target` (an encoded internal key).
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Moves to the next entry.
    fn next(&mut self) -> Result<()>;
    /// The current encoded internal key.
    fn key(&self) -> &[u8];
    /// The current value (empty for a tombstone).
    fn value(&self) -> &[u8];
}
