//! [`ReplicaHandle`]: what the services hold of a replica — its request queue, its state
//! machine (shared for local reads) and the leader it last saw. Every call answers or
//! fails within the caller's deadline; none blocks the replica's task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dougdb_raft::{ConfChange, ConfState, Message, NodeId, Status};
use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::state_machine::{Command, Outcome, StateMachine};

/// A request to a replica's task.
#[derive(Debug)]
pub enum Request {
    /// Propose an encoded command; answered with (index, outcome) once applied.
    Propose {
        /// `Command::encode` output.
        data: Vec<u8>,
        /// Answer.
        reply: oneshot::Sender<Result<(u64, Outcome)>>,
    },
    /// Confirm leadership (ReadIndex); answered once applied >= the read index.
    ReadIndex {
        /// Answer.
        reply: oneshot::Sender<Result<()>>,
    },
    /// A Raft message from a peer.
    Step(Message),
    /// Raft status plus the stored snapshot index.
    Status {
        /// Answer.
        reply: oneshot::Sender<(Status, u64)>,
    },
    /// Propose a membership change; answered with (index, membership after it) once
    /// applied.
    ConfChange {
        /// The change (`context`: the node's address, for additions).
        change: ConfChange,
        /// Answer.
        reply: oneshot::Sender<Result<(u64, ConfState)>>,
    },
    /// Hand leadership to `target`.
    TransferLeader {
        /// The new leader.
        target: NodeId,
        /// Accepted (not yet finished).
        reply: oneshot::Sender<Result<()>>,
    },
}

/// Requests queued per replica before callers get `Unavailable` (and peers' messages are
/// dropped).
pub const REPLICA_QUEUE_MAX: usize = 8192;

/// Shared view of one replica.
#[derive(Debug, Clone)]
pub struct ReplicaHandle {
    shard: u64,
    tx: mpsc::Sender<Request>,
    sm: Arc<RwLock<StateMachine>>,
    leader: Arc<AtomicU64>,
    conf: Arc<RwLock<ConfState>>,
}

fn gone(shard: u64) -> Error {
    Error::Unavailable {
        reason: format!("shard {shard}: replica stopped"),
    }
}

impl ReplicaHandle {
    pub(crate) fn new(
        shard: u64,
        tx: mpsc::Sender<Request>,
        sm: Arc<RwLock<StateMachine>>,
        leader: Arc<AtomicU64>,
        conf: Arc<RwLock<ConfState>>,
    ) -> ReplicaHandle {
        ReplicaHandle {
            shard,
            tx,
            sm,
            leader,
            conf,
        }
    }

    /// The membership as of the last applied change.
    pub fn conf_state(&self) -> ConfState {
        self.conf.read().clone()
    }

    /// The shard.
    pub fn shard(&self) -> u64 {
        self.shard
    }

    /// The leader this replica last heard of.
    pub fn leader(&self) -> Option<u64> {
        match self.leader.load(Ordering::Relaxed) {
            0 => None,
            id => Some(id),
        }
    }

    /// The state machine (local, possibly stale reads).
    pub fn state_machine(&self) -> &Arc<RwLock<StateMachine>> {
        &self.sm
    }

    /// Hands a peer's message to the replica; drops it when the queue is full.
    pub fn step(&self, msg: Message) {
        if self.tx.try_send(Request::Step(msg)).is_err() {
            tracing::debug!(
                shard = self.shard,
                "replica queue full; raft message dropped"
            );
        }
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
        timeout: Duration,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(make(reply))
            .map_err(|_| Error::Unavailable {
                reason: format!("shard {}: replica busy or stopped", self.shard),
            })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(gone(self.shard)),
            Err(_) => Err(Error::Unavailable {
                reason: format!("shard {}: deadline of {timeout:?} passed", self.shard),
            }),
        }
    }

    /// Proposes `cmd` (checked against the limits first) and waits until it is committed
    /// and applied: then it is durable on a majority.
    pub async fn propose(&self, cmd: &Command, timeout: Duration) -> Result<(u64, Outcome)> {
        self.sm.read().limits().check(cmd)?;
        let data = cmd.encode();
        self.call(|reply| Request::Propose { data, reply }, timeout)
            .await?
    }

    /// Waits until this replica, as leader, has applied everything committed before the
    /// call (ReadIndex): a read of the state machine after it is linearizable.
    pub async fn read_index(&self, timeout: Duration) -> Result<()> {
        self.call(|reply| Request::ReadIndex { reply }, timeout)
            .await?
    }

    /// Raft status and the stored snapshot index.
    pub async fn status(&self, timeout: Duration) -> Result<(Status, u64)> {
        self.call(|reply| Request::Status { reply }, timeout).await
    }

    /// Proposes a membership change and waits until it is applied.
    pub async fn conf_change(
        &self,
        change: ConfChange,
        timeout: Duration,
    ) -> Result<(u64, ConfState)> {
        self.call(|reply| Request::ConfChange { change, reply }, timeout)
            .await?
    }

    /// Starts a leader transfer to `target`.
    pub async fn transfer_leader(&self, target: u64, timeout: Duration) -> Result<()> {
        self.call(
            |reply| Request::TransferLeader {
                target: NodeId(target),
                reply,
            },
            timeout,
        )
        .await?
    }
}
