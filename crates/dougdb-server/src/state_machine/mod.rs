//! A shard's replicated state machine: the command codec ([`Command`]), size limits and
//! the reserved key prefix ([`Limits`]), command outcomes ([`Outcome`]), the exactly-once
//! table ([`Sessions`]) and their application to an LSM opened without its own WAL
//! ([`StateMachine`]; the Raft log is the WAL, and a restart replays the committed
//! entries after `StateMachine::durable_applied_index`), and its snapshots (the LSM's
//! tables plus the applied index and the exactly-once table, [`snapshot`]).

mod command;
mod install;
mod limits;
mod machine;
mod outcome;
mod sessions;
pub mod snapshot;
#[cfg(test)]
mod snapshot_tests;

pub use command::{BatchOp, Command, Op, WriteTag};
pub use limits::{INTERNAL_KEY_PREFIX, Limits};
pub use machine::{
    Applied, Rejection, SNAPSHOT_LOG_BYTES_DEFAULT, StateMachine, StateMachineOptions,
};
pub use outcome::Outcome;
pub use sessions::{Check, Session, Sessions, session_key};
