//! `dougdb_server::state_machine`'s command codec and client-write limits, compiled from
//! the server's own files.

#[path = "../../../crates/dougdb-server/src/state_machine/command.rs"]
pub mod command;
#[path = "../../../crates/dougdb-server/src/state_machine/limits.rs"]
pub mod limits;
