//! The retry loop every call on one shard runs through: pick a node (the cached leader,
//! a replica for eventual reads, or the pinned node), send, classify the answer, follow
//! NotLeader hints, refresh the map on WrongShard, back off with jitter, all within the
//! call's deadline; and decide which error to report when time runs out.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dougdb_proto::v1::WriteTag;

use crate::backoff::{Backoff, Deadline};
use crate::client::Client;
use crate::pool::NodeClient;
use crate::status::{Failure, classify};
use crate::{Error, NodeId, Result, ShardId};

/// Immediate retries that follow fresh leader hints before backing off (bounds ping-pong
/// between nodes with inconsistent views).
const REDIRECTS_MAX: u32 = 3;

/// What an attempt needs from the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A write: the leader, and outcomes can be uncertain.
    Write,
    /// A strong read: the leader (a pinned node serves it through the leader).
    Strong,
    /// An eventual read: any replica.
    Eventual,
}

/// Where one attempt goes.
#[derive(Debug)]
struct Target {
    address: String,
    node: Option<NodeId>,
}

/// What the attempts of one call have seen, to pick the error when time runs out.
#[derive(Debug, Default)]
struct Seen {
    /// A write was sent and its answer lost, or an attempt ran into the deadline.
    uncertain: bool,
    /// Some attempt reached a node.
    reached_any: bool,
    /// The last attempt could not connect.
    last_connect_failed: bool,
    tried: Vec<String>,
    last: String,
}

impl Seen {
    fn into_error(self, client: &Client, shard: ShardId, deadline: Deadline) -> Error {
        if self.uncertain {
            Error::Timeout {
                deadline: deadline.budget,
            }
        } else if !self.reached_any || (client.is_pinned() && self.last_connect_failed) {
            Error::Connection {
                endpoints: self.tried,
                reason: self.last,
            }
        } else {
            Error::Unavailable {
                shard: Some(shard),
                reason: self.last,
            }
        }
    }
}

/// A request carrying the remaining time as its gRPC deadline.
pub(crate) fn request<M>(message: M, timeout: Duration) -> tonic::Request<M> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(timeout);
    request
}

impl Client {
    /// Runs a write with one tag for all of its attempts (see `tags`).
    pub(crate) async fn run_write<T, F, Fut>(
        &self,
        shard: ShardId,
        deadline: Deadline,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut(NodeClient, Duration, WriteTag) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let mut ticket = self.inner.slots.acquire(deadline).await?;
        let tag = ticket.tag;
        let result = self
            .run(shard, Access::Write, deadline, |c, t| op(c, t, tag))
            .await;
        if matches!(
            result,
            Err(Error::Timeout { .. } | Error::Unavailable { .. })
        ) {
            ticket.retire = true;
        }
        result
    }

    /// Runs `op` against the right node of `shard` until it succeeds, fails for good, or
    /// the deadline passes. `op` gets a client and the time left.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        shard: ShardId,
        access: Access,
        deadline: Deadline,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut(NodeClient, Duration) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let opts = &self.inner.options;
        let mut backoff = Backoff::new(opts.backoff_initial, opts.backoff_max);
        let mut seen = Seen::default();
        let mut redirects = 0u32;
        loop {
            if deadline.passed() {
                return Err(seen.into_error(self, shard, deadline));
            }
            let target = self.pick(shard, access)?;
            if !seen.tried.contains(&target.address) {
                seen.tried.push(target.address.clone());
            }
            let client = match self
                .inner
                .pool
                .get(&target.address, deadline.remaining())
                .await
            {
                Ok(client) => client,
                Err(reason) => {
                    seen.last = reason;
                    seen.last_connect_failed = true;
                    self.forget_leader(shard, target.node);
                    self.pause(&mut backoff, deadline).await;
                    continue;
                }
            };
            seen.reached_any = true;
            seen.last_connect_failed = false;
            let remaining = deadline.remaining();
            let attempt = if self.is_pinned() {
                remaining
            } else {
                remaining.min(opts.attempt_timeout.max(Duration::from_millis(1)))
            };
            let status = match tokio::time::timeout(attempt, op(client, attempt)).await {
                Ok(Ok(value)) => {
                    if access != Access::Eventual
                        && let Some(node) = target.node
                    {
                        self.inner.write().leaders.insert(shard, node);
                    }
                    return Ok(value);
                }
                Ok(Err(status)) => status,
                Err(_elapsed) => {
                    // No answer in time: the node may be paused or cut off. Try another
                    // (a replica names the current leader) rather than wait on it.
                    seen.uncertain = true;
                    seen.last = format!("{} did not answer within {attempt:?}", target.address);
                    self.inner.pool.evict(&target.address);
                    self.forget_leader(shard, target.node);
                    continue;
                }
            };
            match classify(&status) {
                Failure::NotLeader { hint, .. } => {
                    // An earlier attempt of this write may still commit under the new
                    // leader: its outcome is unknown (Timeout), not "not proposed".
                    if self.is_pinned() && access == Access::Write && seen.uncertain {
                        return Err(seen.into_error(self, shard, deadline));
                    }
                    if self.is_pinned() {
                        return Err(Error::NotLeader {
                            shard,
                            leader_hint: hint.map(|(node, _)| node),
                        });
                    }
                    seen.last = format!("{} does not lead the shard", target.address);
                    let moved = self.follow_hint(shard, target.node, hint);
                    if moved && redirects < REDIRECTS_MAX {
                        redirects += 1;
                        continue;
                    }
                }
                Failure::WrongShard => {
                    if self.is_pinned() && access == Access::Write && seen.uncertain {
                        return Err(seen.into_error(self, shard, deadline));
                    }
                    if self.is_pinned() {
                        return Err(Error::NotLeader {
                            shard,
                            leader_hint: None,
                        });
                    }
                    seen.last = format!("{} does not host the shard", target.address);
                    let epoch = self.inner.read().epoch;
                    if let Err(err) = self.inner.refresh(epoch, deadline).await {
                        seen.last = format!("{}; refreshing the cluster map: {err}", seen.last);
                    }
                }
                Failure::Unavailable(reason) => seen.last = reason,
                Failure::Lost(reason) => {
                    self.inner.pool.evict(&target.address);
                    self.forget_leader(shard, target.node);
                    // A read that ran into the deadline (tonic's own grpc-timeout fires a
                    // moment before ours) timed out too.
                    seen.uncertain |= access == Access::Write || deadline.passed();
                    seen.last = reason;
                }
                Failure::InvalidArgument(reason) => return Err(Error::InvalidArgument { reason }),
                Failure::Corruption(reason) => return Err(Error::Corruption { reason }),
                Failure::Protocol(reason) => return Err(Error::Protocol { reason }),
            }
            redirects = 0;
            self.pause(&mut backoff, deadline).await;
        }
    }

    async fn pause(&self, backoff: &mut Backoff, deadline: Deadline) {
        let delay = self.inner.rng.with(|rng| backoff.next_delay(rng));
        tokio::time::sleep(delay.min(deadline.remaining())).await;
    }

    fn pick(&self, shard: ShardId, access: Access) -> Result<Target> {
        let state = self.inner.read();
        if self.is_pinned() {
            let address = self
                .inner
                .options
                .endpoints
                .first()
                .cloned()
                .unwrap_or_default();
            let node = state.map.node_at(&address);
            return Ok(Target { address, node });
        }
        let shard_map = state
            .map
            .shard(shard)
            .ok_or_else(|| Error::protocol(format!("shard {shard} is not in the cluster map")))?;
        let leader = match access {
            Access::Eventual => None,
            Access::Write | Access::Strong => state.leaders.get(&shard).copied(),
        };
        let node = match leader {
            Some(node) => node,
            None => {
                let replicas: Vec<NodeId> = shard_map.replicas().collect();
                let turn = self.inner.rotation.fetch_add(1, Ordering::Relaxed);
                let index = usize::try_from(turn % replicas.len().max(1) as u64).unwrap_or(0);
                *replicas.get(index).ok_or_else(|| Error::Unavailable {
                    shard: Some(shard),
                    reason: "the cluster map lists no replica".into(),
                })?
            }
        };
        let address = state
            .map
            .address(node)
            .or_else(|| state.hinted_addresses.get(&node).map(String::as_str))
            .ok_or_else(|| Error::protocol(format!("no address known for node {node}")))?
            .to_string();
        Ok(Target {
            address,
            node: Some(node),
        })
    }

    /// Records a NotLeader hint; true when it names a node other than the one asked.
    fn follow_hint(
        &self,
        shard: ShardId,
        asked: Option<NodeId>,
        hint: Option<(NodeId, String)>,
    ) -> bool {
        let mut state = self.inner.write();
        match hint {
            Some((node, address)) if Some(node) != asked => {
                let known = state.map.address(node).is_some();
                if !known && !address.is_empty() {
                    state.hinted_addresses.insert(node, address);
                } else if !known && !state.hinted_addresses.contains_key(&node) {
                    state.leaders.remove(&shard);
                    return false;
                }
                state.leaders.insert(shard, node);
                true
            }
            _ => {
                state.leaders.remove(&shard);
                false
            }
        }
    }

    fn forget_leader(&self, shard: ShardId, node: Option<NodeId>) {
        let mut state = self.inner.write();
        if node.is_some() && state.leaders.get(&shard).copied() == node {
            state.leaders.remove(&shard);
        }
    }
}
