//! One outbound link to a peer: a task that owns the peer's bounded queue, keeps one
//! long-lived `Raft.Messages` client stream open (reconnecting with capped exponential
//! backoff) and coalesces queued messages into `RaftBatch`es. A slow or dead peer only
//! fills its own queue; senders drop rather than wait (Raft retransmits).

use std::time::Duration;

use dougdb_proto::v1::raft_client::RaftClient;
use dougdb_proto::v1::{RaftBatch, RaftEnvelope};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use super::Outgoing;
use crate::raft_wire::message_to_proto;

/// Limits of a link.
#[derive(Clone, Copy, Debug)]
pub struct LinkLimits {
    /// Most messages in one batch.
    pub batch_msgs_max: usize,
    /// Batches stop growing past this encoded size.
    pub batch_bytes_max: usize,
    /// Largest gRPC message sent or received on the Raft service.
    pub grpc_message_bytes_max: usize,
    /// First reconnect delay; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Connect attempt timeout.
    pub connect_timeout: Duration,
}

impl Default for LinkLimits {
    fn default() -> Self {
        LinkLimits {
            batch_msgs_max: 512,
            batch_bytes_max: 4 << 20,
            grpc_message_bytes_max: 64 << 20,
            backoff_min: Duration::from_millis(20),
            backoff_max: Duration::from_secs(1),
            connect_timeout: Duration::from_millis(500),
        }
    }
}

/// Who is talking to whom.
#[derive(Clone, Debug)]
pub struct LinkEnds {
    /// Cluster id stamped on every batch.
    pub cluster_id: u64,
    /// This node.
    pub from: u64,
    /// The peer.
    pub to: u64,
    /// The peer's `host:port`.
    pub address: String,
}

/// Runs the link until every sender of `rx` is gone.
pub async fn run(ends: LinkEnds, limits: LinkLimits, mut rx: mpsc::Receiver<Outgoing>) {
    let mut backoff = limits.backoff_min;
    loop {
        let Some(mut client) = connect(&ends, &limits).await else {
            // Messages queued while the peer is unreachable are stale by the time it
            // comes back: drop them (Raft resends what still matters).
            let deadline = tokio::time::sleep(backoff);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    m = rx.recv() => if m.is_none() { return },
                }
            }
            backoff = (backoff * 2).min(limits.backoff_max);
            continue;
        };
        backoff = limits.backoff_min;
        let (btx, brx) = mpsc::channel::<RaftBatch>(16);
        let call = tokio::spawn(async move { client.messages(ReceiverStream::new(brx)).await });
        loop {
            let Some(first) = rx.recv().await else {
                call.abort();
                return;
            };
            let batch = coalesce(&ends, &limits, first, &mut rx);
            if btx.send(batch).await.is_err() {
                tracing::debug!(peer = ends.to, "raft stream to peer ended; reconnecting");
                break;
            }
        }
        call.abort();
    }
}

async fn connect(
    ends: &LinkEnds,
    limits: &LinkLimits,
) -> Option<RaftClient<tonic::transport::Channel>> {
    let endpoint = Endpoint::from_shared(format!("http://{}", ends.address))
        .ok()?
        .connect_timeout(limits.connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(1))
        .keep_alive_timeout(Duration::from_secs(2));
    match endpoint.connect().await {
        Ok(channel) => Some(
            RaftClient::new(channel)
                .max_encoding_message_size(limits.grpc_message_bytes_max)
                .max_decoding_message_size(limits.grpc_message_bytes_max),
        ),
        Err(e) => {
            tracing::debug!(peer = ends.to, error = %e, "connecting to peer failed");
            None
        }
    }
}

fn coalesce(
    ends: &LinkEnds,
    limits: &LinkLimits,
    first: Outgoing,
    rx: &mut mpsc::Receiver<Outgoing>,
) -> RaftBatch {
    let mut messages = Vec::new();
    let mut bytes = 0usize;
    let mut next = Some(first);
    while let Some((shard, msg)) = next.take() {
        let env = RaftEnvelope {
            shard,
            message: Some(message_to_proto(msg)),
        };
        bytes += env.encoded_len();
        messages.push(env);
        if messages.len() >= limits.batch_msgs_max || bytes >= limits.batch_bytes_max {
            break;
        }
        next = rx.try_recv().ok();
    }
    RaftBatch {
        cluster_id: ends.cluster_id,
        from_node: ends.from,
        to_node: ends.to,
        messages,
    }
}
