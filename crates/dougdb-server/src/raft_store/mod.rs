//! A durable `dougdb_raft::LogStore` for one Raft group: entries and hard states are
//! records of a `dougdb_storage::wal::Wal`; the snapshot (compaction point, membership and
//! data) and the WAL position where the live log starts are in a small metadata file.
//!
//! Directory of a group (`dir`):
//! ```text
//! dir/wal/                       the WAL segments (records: `record.rs`)
//! dir/raft-meta                  metadata (`meta.rs`), replaced atomically
//! dir/snap-<index>-<term>.data   the stored snapshot's bytes, if any
//! ```
//!
//! **Conflicting suffixes are truncated logically, never with `Wal::truncate_from`**
//! (as etcd's WAL does): an append whose first index is already in the log writes its
//! entries at the end of the WAL, and recovery, replaying records in order, lets an entry
//! at index `i` discard every earlier entry at `>= i`. Physical truncation would also
//! remove the hard-state records written after the conflicting entry, and a crash
//! between the truncation and their rewrite would forget a vote. Stale records cost disk
//! space only until compaction drops their segments.
//!
//! **Hard states** are WAL records too, so entries and hard state of one `Ready` share
//! one fsync. The last hard-state record at or after `log_start` wins; without one, the
//! hard state in the metadata file (written at the last compaction, after a WAL sync, so
//! no later record can be older) applies.
//!
//! **Compaction / snapshot installation**: sync the WAL; write the snapshot data file;
//! write the metadata (new snapshot, current hard state, new `log_start`: the position of
//! the first kept entry, or the WAL end); then `Wal::drop_before(log_start)` and delete
//! the previous snapshot file. A crash at any point leaves the old or the new state.
//!
//! **Durability**: by default every `LogStore` write is durable on return. With
//! [`RaftStoreOptions::deferred_sync`], `append` and `set_hard_state` only buffer, and
//! the caller makes a whole `Ready` durable with one [`WalLogStore::sync`] (or
//! `wal().wait_durable(end)` from another thread, in parallel with sending the leader's
//! messages) before sending `persisted_messages`.

mod meta;
mod record;
mod replay;
mod store;

pub use meta::{META_FILE, Meta, snapshot_file_name};
pub use record::{LogRecord, decode as decode_record, encode_entry, encode_hard_state};
pub use store::{RaftStoreOptions, WalLogStore};
