//! `Client`: shared state (cluster map, router, leader cache, channels, write slots), and
//! fetching the cluster map from whichever endpoint answers.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use dougdb_proto::v1::ClusterMapRequest;

use crate::backoff::{Backoff, Deadline, SharedRng};
use crate::pool::Pool;
use crate::routing::Routing;
use crate::status::{Failure, classify};
use crate::tags::WriteSlots;
use crate::topology::ClusterMap;
use crate::{ClientOptions, Error, NodeId, Result, ShardId};

/// An async DougDB client. Cheap to clone (an `Arc` inside) and to share across tasks;
/// clones share channels, the leader cache and the write slots.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Deadline of each call made through this handle.
    pub(crate) timeout: Duration,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) options: ClientOptions,
    pub(crate) pool: Arc<Pool>,
    pub(crate) rng: SharedRng,
    pub(crate) slots: WriteSlots,
    pub(crate) state: RwLock<State>,
    /// One map refresh at a time; others wait for it and reuse its result.
    refresh_lock: tokio::sync::Mutex<()>,
    /// Spreads eventual reads and leaderless attempts over replicas.
    pub(crate) rotation: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) map: Arc<ClusterMap>,
    pub(crate) routing: Routing,
    /// The last node known to lead each shard.
    pub(crate) leaders: HashMap<ShardId, NodeId>,
    /// Addresses learnt from NotLeader hints for nodes the map does not list yet.
    pub(crate) hinted_addresses: HashMap<NodeId, String>,
    /// Bumped on every map refresh.
    pub(crate) epoch: u64,
}

impl Client {
    /// Connects with default options: fetches the cluster map from the first endpoint
    /// that answers within 5 s and builds the router.
    pub async fn connect<S: AsRef<str>>(endpoints: &[S]) -> Result<Client> {
        Self::connect_with(ClientOptions::new(endpoints)).await
    }

    /// A client pinned to one node: no redirects (see [`ClientOptions::pinned`]).
    pub async fn pinned(endpoint: &str) -> Result<Client> {
        Self::connect_with(ClientOptions {
            pinned: true,
            ..ClientOptions::new(&[endpoint])
        })
        .await
    }

    /// Connects with `options`.
    pub async fn connect_with(options: ClientOptions) -> Result<Client> {
        if options.endpoints.is_empty() {
            return Err(Error::invalid("no endpoints given"));
        }
        if options.pinned && options.endpoints.len() != 1 {
            return Err(Error::invalid(format!(
                "a pinned client talks to exactly one node, {} endpoints were given",
                options.endpoints.len()
            )));
        }
        let pool = Pool::new(options.connect_timeout, options.message_bytes_max);
        let rng = SharedRng::new(options.seed);
        let deadline = Deadline::after(options.timeout);
        let (map, routing) =
            fetch_map(&pool, &rng, &options, &options.endpoints, None, deadline).await?;
        let leaders = initial_leaders(&map);
        let timeout = options.timeout;
        let inner = Inner {
            slots: WriteSlots::new(options.write_slots, rng.clone()),
            options,
            pool,
            rng,
            state: RwLock::new(State {
                map: Arc::new(map),
                routing,
                leaders,
                hinted_addresses: HashMap::new(),
                epoch: 0,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            rotation: AtomicU64::new(0),
        };
        Ok(Client {
            inner: Arc::new(inner),
            timeout,
        })
    }

    /// A handle on the same client whose calls run under `timeout` instead.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            inner: self.inner.clone(),
            timeout,
        }
    }

    /// The deadline of each call made through this handle.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether this client is pinned to one node.
    pub fn is_pinned(&self) -> bool {
        self.inner.options.pinned
    }

    /// The cluster map in use.
    pub fn cluster_map(&self) -> Arc<ClusterMap> {
        self.inner.read().map.clone()
    }

    /// The node this client believes leads `shard`, if any.
    pub fn cached_leader(&self, shard: ShardId) -> Option<NodeId> {
        self.inner.read().leaders.get(&shard).copied()
    }

    /// The shard `key` routes to.
    pub fn shard_for(&self, key: impl AsRef<[u8]>) -> Result<ShardId> {
        let shards = self.route(&[key.as_ref()])?;
        shards
            .first()
            .copied()
            .ok_or_else(|| Error::protocol("the router returned no shard"))
    }

    /// Fetches the cluster map again (as after a `WrongShard` answer).
    pub async fn refresh_cluster_map(&self) -> Result<()> {
        let epoch = self.inner.read().epoch;
        self.inner
            .refresh(epoch, Deadline::after(self.timeout))
            .await
    }

    /// The shard of each key, in order.
    pub(crate) fn route(&self, keys: &[&[u8]]) -> Result<Vec<ShardId>> {
        let state = self.inner.read();
        state.routing.route(keys, state.map.shard_count())
    }
}

impl Inner {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // Every update of the state is a single assignment: a panic cannot tear it.
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refetches the map unless someone else did since `seen_epoch`.
    pub(crate) async fn refresh(&self, seen_epoch: u64, deadline: Deadline) -> Result<()> {
        let _guard = tokio::time::timeout(deadline.remaining(), self.refresh_lock.lock())
            .await
            .map_err(|_| Error::Timeout {
                deadline: deadline.budget,
            })?;
        let (endpoints, current) = {
            let state = self.read();
            if state.epoch != seen_epoch {
                return Ok(());
            }
            let mut endpoints = self.options.endpoints.clone();
            if !self.options.pinned {
                endpoints.extend(state.map.nodes.values().cloned());
            }
            (
                endpoints,
                (state.map.routing.clone(), state.routing.clone()),
            )
        };
        let (map, routing) = fetch_map(
            &self.pool,
            &self.rng,
            &self.options,
            &endpoints,
            Some(current),
            deadline,
        )
        .await?;
        let mut state = self.write();
        state.leaders = initial_leaders(&map);
        state.map = Arc::new(map);
        state.routing = routing;
        state.epoch += 1;
        Ok(())
    }
}

fn initial_leaders(map: &ClusterMap) -> HashMap<ShardId, NodeId> {
    map.shards
        .iter()
        .filter_map(|s| s.leader_hint.map(|l| (s.id, l)))
        .collect()
}

/// The map and its router from the first of `endpoints` that answers, retrying within
/// `deadline`. `current` is the routing in use, kept when the digest did not change.
async fn fetch_map(
    pool: &Pool,
    rng: &SharedRng,
    options: &ClientOptions,
    endpoints: &[String],
    current: Option<(crate::topology::RoutingSpec, Routing)>,
    deadline: Deadline,
) -> Result<(ClusterMap, Routing)> {
    let mut backoff = Backoff::new(options.backoff_initial, options.backoff_max);
    let mut reached_any = false;
    // Some node answered at all (if none did, the nodes reached are stalled: a timeout).
    let mut answered_any = false;
    let mut last = String::from("no attempt finished before the deadline");
    loop {
        for endpoint in endpoints {
            if deadline.passed() {
                break;
            }
            let client = match pool.get(endpoint, deadline.remaining()).await {
                Ok(client) => client,
                Err(reason) => {
                    last = reason;
                    continue;
                }
            };
            reached_any = true;
            let ask = |include: bool| {
                let mut client = client.clone();
                let mut request = tonic::Request::new(ClusterMapRequest {
                    include_routing_plugin: include,
                });
                // One stalled node (paused, cut off) must not hold the whole deadline.
                let attempt = deadline.remaining().min(
                    options
                        .attempt_timeout
                        .max(std::time::Duration::from_millis(1)),
                );
                request.set_timeout(attempt);
                async move {
                    let answer = tokio::time::timeout(attempt, client.cluster_map(request));
                    match answer.await {
                        Ok(Ok(response)) => Ok(response.into_inner().map),
                        Ok(Err(status)) => Err(Some(status)),
                        Err(_) => Err(None),
                    }
                }
            };
            let proto = match ask(false).await {
                Ok(Some(map)) => map,
                Ok(None) => return Err(Error::protocol(format!("{endpoint} sent no cluster map"))),
                Err(status) => {
                    answered_any |= status.as_ref().is_some_and(|s| !timed_out(s));
                    last = map_failure(endpoint, status.as_ref(), pool)?;
                    continue;
                }
            };
            let map = ClusterMap::from_proto(proto)?;
            if let Some((spec, routing)) = &current
                && *spec == map.routing
            {
                return Ok((map, routing.clone()));
            }
            if !Routing::needs_wasm(&map.routing) {
                return Ok((map, Routing::Hash));
            }
            let wasm = match ask(true).await {
                Ok(full) => full.and_then(|m| m.routing).and_then(|r| r.wasm),
                Err(status) => {
                    last = map_failure(endpoint, status.as_ref(), pool)?;
                    continue;
                }
            };
            let routing = Routing::build(&map.routing, wasm.as_deref())?;
            return Ok((map, routing));
        }
        if deadline.passed() {
            return Err(if reached_any && !answered_any {
                Error::Timeout {
                    deadline: deadline.budget,
                }
            } else if reached_any {
                Error::Unavailable {
                    shard: None,
                    reason: format!("no node served the cluster map: {last}"),
                }
            } else {
                Error::Connection {
                    endpoints: endpoints.to_vec(),
                    reason: last,
                }
            });
        }
        let delay = rng.with(|r| backoff.next_delay(r));
        tokio::time::sleep(delay.min(deadline.remaining())).await;
    }
}

/// Whether `status` is tonic's own deadline (or cancellation on it), not a node's answer.
fn timed_out(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
    )
}

/// The reason to remember from a failed ClusterMap call, or the error that ends the
/// connect (a malformed request or answer will not get better by retrying).
fn map_failure(endpoint: &str, status: Option<&tonic::Status>, pool: &Pool) -> Result<String> {
    let Some(status) = status else {
        return Ok(format!("{endpoint}: no answer"));
    };
    match classify(status) {
        Failure::InvalidArgument(reason) => Err(Error::InvalidArgument { reason }),
        Failure::Protocol(reason) => Err(Error::Protocol { reason }),
        Failure::Corruption(reason) => Err(Error::Corruption { reason }),
        Failure::Lost(reason) => {
            pool.evict(endpoint);
            Ok(format!("{endpoint}: {reason}"))
        }
        other => Ok(format!("{endpoint}: {other:?}")),
    }
}
