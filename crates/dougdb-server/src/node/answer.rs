//! How a replica answers its callers: the waiter of a proposed entry, the result of
//! applying it, and the translation of Raft's refusals into this crate's errors.

use dougdb_raft::{ConfState, LogIndex};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::state_machine::{Applied, Outcome, Rejection};

pub(super) type ProposeReply = oneshot::Sender<Result<(u64, Outcome)>>;
pub(super) type ReadReply = oneshot::Sender<Result<()>>;
pub(super) type ConfReply = oneshot::Sender<Result<(u64, ConfState)>>;

/// Who waits for a proposed entry.
#[derive(Debug)]
pub(super) enum Waiter {
    /// A client write.
    Write(ProposeReply),
    /// A membership change.
    Conf(ConfReply),
}

/// Raft's refusal of a request, as the error the client sees.
pub(super) fn raft_err(shard: u64, e: dougdb_raft::Error) -> Error {
    match e {
        dougdb_raft::Error::NotLeader { leader_hint } => Error::NotLeader {
            shard,
            leader_hint: leader_hint.map(|n| n.0),
        },
        e @ (dougdb_raft::Error::InvalidConfChange { .. }
        | dougdb_raft::Error::BadConfChange { .. }
        | dougdb_raft::Error::InvalidTransferTarget { .. }) => Error::InvalidArgument {
            reason: format!("shard {shard}: {e}"),
        },
        e if e.is_retryable() => Error::Unavailable {
            reason: format!("shard {shard}: {e}"),
        },
        source => Error::Raft { source },
    }
}

/// The answer to the proposer of the entry at `index`.
pub(super) fn outcome(index: LogIndex, applied: Applied) -> Result<(u64, Outcome)> {
    match applied {
        Applied::Done(o) | Applied::Duplicate(o) => Ok((index.0, o)),
        Applied::Rejected(Rejection::InvalidArgument { reason })
        | Applied::Rejected(Rejection::BadCommand { reason }) => {
            Err(Error::InvalidArgument { reason })
        }
        Applied::Rejected(r @ Rejection::StaleSequence { .. }) => Err(Error::InvalidArgument {
            reason: format!("{r:?}"),
        }),
        Applied::NotACommand | Applied::AlreadyApplied => Err(Error::Unavailable {
            reason: format!("entry {} was not this proposal", index.0),
        }),
    }
}
