//! `dougdb_server::raft_store`'s codecs (the WAL payloads of a Raft log, the metadata
//! file), compiled from the server's own files.

#[path = "../../crates/dougdb-server/src/raft_store/meta.rs"]
pub mod meta;
#[path = "../../crates/dougdb-server/src/raft_store/record.rs"]
pub mod record;
