//! The `dougdb.v1.Raft` service: reads a peer's long-lived batch stream and hands each
//! message to the replica of its shard. Batches of another cluster or for another node end
//! the stream; malformed messages are dropped (logged), never a panic.

use std::sync::Arc;

use dougdb_proto::v1::raft_server::Raft;
use dougdb_proto::v1::{RaftBatch, RaftStreamSummary};
use dougdb_raft::Message;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use super::Faults;
use crate::raft_wire::message_from_proto;

/// Where inbound messages go (the node's replicas).
pub trait Deliver: Send + Sync + 'static {
    /// Hands `msg` to the replica of `shard`; must not block (drop when full).
    fn deliver(&self, shard: u64, msg: Message);
}

/// The Raft service of one node.
pub struct RaftService {
    node_id: u64,
    cluster_id: u64,
    faults: Arc<Faults>,
    deliver: Arc<dyn Deliver>,
    /// Flips to true when the node stops: open streams end so shutdown need not wait.
    stop: watch::Receiver<bool>,
}

impl std::fmt::Debug for RaftService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftService")
            .field("node_id", &self.node_id)
            .field("cluster_id", &self.cluster_id)
            .finish_non_exhaustive()
    }
}

impl RaftService {
    /// A service delivering to `deliver`.
    pub fn new(
        node_id: u64,
        cluster_id: u64,
        faults: Arc<Faults>,
        deliver: Arc<dyn Deliver>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        RaftService {
            node_id,
            cluster_id,
            faults,
            deliver,
            stop,
        }
    }

    async fn pump(
        &self,
        req: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<RaftStreamSummary>, Status> {
        let mut stream = req.into_inner();
        let mut summary = RaftStreamSummary::default();
        let mut stop = self.stop.clone();
        loop {
            let batch = tokio::select! {
                b = stream.message() => match b? {
                    Some(b) => b,
                    None => break,
                },
                _ = stop.changed() => break,
            };
            if batch.cluster_id != self.cluster_id {
                return Err(Status::failed_precondition(format!(
                    "batch of cluster {} sent to a node of cluster {}",
                    batch.cluster_id, self.cluster_id
                )));
            }
            if batch.to_node != self.node_id {
                return Err(Status::failed_precondition(format!(
                    "batch for node {} sent to node {}",
                    batch.to_node, self.node_id
                )));
            }
            summary.batches += 1;
            if !self.faults.allow_inbound(batch.from_node) {
                continue;
            }
            for env in batch.messages {
                summary.messages += 1;
                let Some(m) = env.message else { continue };
                match message_from_proto(m) {
                    Ok(msg) => self.deliver.deliver(env.shard, msg),
                    Err(e) => {
                        tracing::warn!(from = batch.from_node, error = %e, "dropped malformed raft message")
                    }
                }
            }
        }
        Ok(Response::new(summary))
    }
}

#[tonic::async_trait]
impl Raft for RaftService {
    async fn messages(
        &self,
        req: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<RaftStreamSummary>, Status> {
        self.pump(req).await
    }

    async fn snapshots(
        &self,
        req: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<RaftStreamSummary>, Status> {
        self.pump(req).await
    }
}
