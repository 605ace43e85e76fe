//! `dougdb_server::state_machine`'s codecs, compiled from the server's own files.

#[path = "../../crates/dougdb-server/src/state_machine/command.rs"]
pub mod command;
#[path = "../../crates/dougdb-server/src/state_machine/limits.rs"]
pub mod limits;
#[path = "../../crates/dougdb-server/src/state_machine/outcome.rs"]
pub mod outcome;
#[path = "../../crates/dougdb-server/src/state_machine/sessions.rs"]
pub mod sessions;
#[path = "../../crates/dougdb-server/src/state_machine/snapshot.rs"]
pub mod snapshot;
