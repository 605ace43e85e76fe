//! A shard's replicated state machine: the command codec ([`Command`]), size limits and
//! the reserved key prefix ([`Limits`]), command outcomes ([`Outcome`]), the exactly-once
//! table ([`Sessions`]) and their application to an LSM opened without its own WAL
//! ([`StateMachine`]; the Raft log is the WAL, and a restart replays the committed
//! entries after `StateMachine::durable_applied_index`).

mod command;
mod limits;
mod machine;
mod outcome;
mod sessions;

pub use command::{BatchOp, Command, Op, WriteTag};
pub use limits::{INTERNAL_KEY_PREFIX, Limits};
pub use machine::{Applied, Rejection, StateMachine, StateMachineOptions};
pub use outcome::Outcome;
pub use sessions::{Check, Session, Sessions, session_key};
