//! A DougDB node: the replicas of the shards it hosts (one Raft group each, under
//! `<data-dir>/shard-<id>/{raft,db}`), the transport to its peers, and the gRPC server
//! (Doug, Admin, Raft) on one listener.
//!
//! [`Node`] is what the services share; [`RunningNode`] owns the tasks and stops them,
//! gracefully ([`RunningNode::shutdown`]) or abruptly like a crash ([`RunningNode::abort`]).

mod answer;
pub mod handle;
pub mod replica;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use dougdb_proto::v1::admin_server::AdminServer;
use dougdb_proto::v1::doug_server::DougServer;
use dougdb_proto::v1::raft_server::RaftServer;
use dougdb_raft::{ConfState, Config, LogIndex, LogStore, NodeId, RawNode, ReadOnlyOption};
use parking_lot::RwLock;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;

pub use handle::{ReplicaHandle, Request};
pub use replica::Replica;

use crate::cluster::{ClusterFile, LiveCluster};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::raft_store::{RaftStoreOptions, WalLogStore};
use crate::service::{AdminService, DougService};
use crate::state_machine::{StateMachine, StateMachineOptions};
use crate::transport::{Deliver, Faults, LinkLimits, RaftService, Transport};

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// This node's id (must be in the cluster file).
    pub id: u64,
    /// Root of the node's data.
    pub data_dir: PathBuf,
    /// Enables the Admin fault-injection calls.
    pub fault_injection: bool,
    /// Raft tick (election timeout is 15-30 ticks, heartbeat 3).
    pub tick: Duration,
    /// How long a client call may wait for commit, apply or a read round.
    pub request_timeout: Duration,
    /// State machine options (limits, LSM).
    pub state_machine: StateMachineOptions,
    /// Transport limits.
    pub link: LinkLimits,
    /// Serve Prometheus metrics over HTTP here (`host:port`).
    pub metrics_listen: Option<String>,
    /// Snapshot the state machine and compact the log every this many applied entries
    /// (`None`: never).
    pub snapshot_entries: Option<u64>,
    /// Strong reads by leader lease (no heartbeat round; relies on check-quorum and
    /// bounded clock drift) instead of a ReadIndex round.
    pub lease_reads: bool,
}

impl NodeOptions {
    /// Defaults for node `id` in `data_dir`.
    pub fn new(id: u64, data_dir: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            id,
            data_dir: data_dir.into(),
            fault_injection: false,
            tick: Duration::from_millis(10),
            request_timeout: Duration::from_secs(5),
            state_machine: StateMachineOptions::default(),
            link: LinkLimits::default(),
            metrics_listen: None,
            lease_reads: false,
            snapshot_entries: None,
        }
    }
}

/// What the services of a node share.
#[derive(Debug)]
pub struct Node {
    /// This node's id.
    pub id: u64,
    /// The cluster map as persisted in the data dir (updated by membership changes).
    pub cluster: Arc<LiveCluster>,
    /// The routing plugin served in `ClusterMap`.
    pub routing: crate::plugins::Routing,
    /// Hosted replicas by shard.
    pub replicas: BTreeMap<u64, ReplicaHandle>,
    /// Link faults (Admin controls).
    pub faults: Arc<Faults>,
    /// Deadline of client calls inside the node.
    pub request_timeout: Duration,
    /// Counters served on the metrics listener.
    pub metrics: Arc<Metrics>,
}

impl Node {
    /// The replica of `shard`, or `WrongShard`.
    pub fn replica(&self, shard: u64) -> Result<&ReplicaHandle> {
        self.replicas.get(&shard).ok_or(Error::WrongShard { shard })
    }
}

struct Router(BTreeMap<u64, ReplicaHandle>);

impl Deliver for Router {
    fn deliver(&self, shard: u64, msg: dougdb_raft::Message) {
        if let Some(r) = self.0.get(&shard) {
            r.step(msg);
        }
    }
}

/// A started node: its tasks and how to stop them.
#[derive(Debug)]
pub struct RunningNode {
    node: Arc<Node>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    replicas: Vec<JoinHandle<()>>,
    transport: Arc<Transport>,
    metrics_task: Option<JoinHandle<()>>,
    metrics_addr: Option<SocketAddr>,
    server: JoinHandle<()>,
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |cause| Error::Io { what, cause }
}

fn open_replica(
    opts: &NodeOptions,
    shard: u64,
    voters: &[u64],
) -> Result<(RawNode<WalLogStore>, StateMachine)> {
    let dir = opts.data_dir.join(format!("shard-{shard}"));
    let raft_dir = dir.join("raft");
    let db_dir = dir.join("db");
    for d in [&raft_dir, &db_dir] {
        std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
    }
    let store_opts = RaftStoreOptions {
        deferred_sync: true,
        ..RaftStoreOptions::default()
    };
    let mut store = WalLogStore::open(dougdb_storage::fs::real(), &raft_dir, store_opts)?;
    let fresh = store.snapshot_metadata()?.conf_state.voters.is_empty()
        && store.last_index()? == LogIndex(0)
        && store.hard_state()? == Default::default();
    // A joining replica starts without membership; the leader adds it.
    if fresh && voters.contains(&opts.id) {
        store.bootstrap(ConfState::with_voters(voters.iter().copied()))?;
    }
    let sm = StateMachine::open(&db_dir, opts.state_machine.clone())?;
    let mut sm = sm;
    // Log compacted past what the LSM flushed (a crash after compaction or after a
    // snapshot install): the state machine starts from the stored snapshot.
    if store.snapshot_metadata()?.index.0 > sm.durable_applied_index() {
        let snap = store.snapshot()?;
        sm.install_snapshot(snap.metadata.index.0, &snap.data)?;
    }
    let applied = LogIndex(sm.durable_applied_index());
    // A Ready that only moves the commit index is not fsynced (see `replica.rs`), so the
    // LSM may have flushed past the durable commit. Entries are durable before they are
    // applied, so everything applied is committed: raise the commit to match.
    let mut hs = store.hard_state()?;
    if hs.commit < applied {
        hs.commit = applied;
        store.set_hard_state(&hs)?;
        store.sync()?;
    }
    let mut cfg = Config::new(NodeId(opts.id));
    cfg.applied = applied;
    if opts.lease_reads {
        cfg.read_only_option = ReadOnlyOption::LeaseBased;
    }
    cfg.seed = opts.id.wrapping_mul(0x9E37_79B9).wrapping_add(shard);
    let raw = RawNode::new(cfg, store)?;
    Ok((raw, sm))
}

impl RunningNode {
    /// Opens every hosted replica, starts the transport and serves gRPC on `listener`.
    pub async fn start(
        mut opts: NodeOptions,
        cluster: ClusterFile,
        listener: TcpListener,
    ) -> Result<RunningNode> {
        // Checked before anything is written into the data dir.
        if cluster.address(opts.id).is_none() {
            return Err(Error::Config {
                path: opts.data_dir.clone(),
                reason: format!("node {} is not in the cluster file", opts.id),
            });
        }
        let cluster = cluster.bootstrap_or_check(&opts.data_dir)?;
        if cluster.address(opts.id).is_none() {
            return Err(Error::Config {
                path: crate::cluster::persisted_path(&opts.data_dir),
                reason: format!("node {} is not in the persisted cluster map", opts.id),
            });
        }
        let routing = crate::plugins::load_routing(&cluster.routing, &opts.data_dir)?;
        let compaction = crate::plugins::load_compaction(&cluster.compaction)?;
        opts.state_machine.db.compaction_policy = Arc::clone(&compaction.policy);
        let live = Arc::new(LiveCluster::new(cluster.clone(), &opts.data_dir));
        let addr = listener
            .local_addr()
            .map_err(io_err("reading the listener's address".into()))?;
        let faults = Arc::new(Faults::new(opts.fault_injection, opts.id));
        let peers: Vec<(u64, String)> = cluster
            .nodes
            .iter()
            .map(|n| (n.id, n.address.clone()))
            .collect();
        let transport = Transport::start(
            cluster.cluster_id,
            opts.id,
            &peers,
            opts.link,
            Arc::clone(&faults),
        );
        let (stop, stop_rx) = watch::channel(false);
        let metrics = Metrics::new(cluster.shards_of(opts.id).map(|s| s.id));
        let _ = metrics.compaction.set(compaction);
        let metrics = Arc::new(metrics);
        let (metrics_task, metrics_addr) = match &opts.metrics_listen {
            Some(addr) => {
                let l = bind(addr).await?;
                let local = l
                    .local_addr()
                    .map_err(io_err("reading the metrics listener's address".into()))?;
                let task = tokio::spawn(crate::metrics::serve(l, Arc::clone(&metrics)));
                (Some(task), Some(local))
            }
            None => (None, None),
        };
        let mut handles = BTreeMap::new();
        let mut replicas = Vec::new();
        for s in cluster.shards_of(opts.id) {
            let (raw, sm) = open_replica(&opts, s.id, &s.replicas)?;
            let sm = Arc::new(RwLock::new(sm));
            let leader = Arc::new(AtomicU64::new(0));
            let conf = Arc::new(RwLock::new(ConfState::default()));
            let (tx, rx) = mpsc::channel(handle::REPLICA_QUEUE_MAX);
            handles.insert(
                s.id,
                ReplicaHandle::new(
                    s.id,
                    tx,
                    Arc::clone(&sm),
                    Arc::clone(&leader),
                    Arc::clone(&conf),
                ),
            );
            let mut r = Replica::new(
                s.id,
                raw,
                sm,
                Arc::clone(&transport),
                leader,
                conf,
                opts.tick,
            )?;
            r.snapshot_entries = opts.snapshot_entries;
            r.cluster = Some(Arc::clone(&live));
            if let Some(m) = metrics.shards.get(&s.id) {
                r.metrics = Arc::clone(m);
            }
            replicas.push(tokio::spawn(r.run(rx, stop_rx.clone())));
        }
        let node = Arc::new(Node {
            id: opts.id,
            cluster: live,
            routing,
            replicas: handles.clone(),
            faults: Arc::clone(&faults),
            request_timeout: opts.request_timeout,
            metrics,
        });
        let raft = RaftService::new(
            opts.id,
            cluster.cluster_id,
            faults,
            Arc::new(Router(handles)),
            stop_rx.clone(),
        );
        let bytes_max = opts.link.grpc_message_bytes_max;
        let router = tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(
                RaftServer::new(raft)
                    .max_decoding_message_size(bytes_max)
                    .max_encoding_message_size(bytes_max),
            )
            .add_service(DougServer::new(DougService::new(Arc::clone(&node))))
            .add_service(AdminServer::new(AdminService::new(Arc::clone(&node))));
        let mut stop_srv = stop_rx;
        let server = tokio::spawn(async move {
            // `serve_with_incoming` ignores the builder's `tcp_nodelay`: without it, a
            // response's trailing frames wait out the client's delayed ACK (40 ms).
            let incoming = TcpListenerStream::new(listener).map(|s| {
                s.and_then(|s| {
                    s.set_nodelay(true)?;
                    Ok(s)
                })
            });
            let shutdown = async move {
                let _ = stop_srv.changed().await;
            };
            if let Err(e) = router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
            {
                tracing::error!(error = %e, "gRPC server failed");
            }
        });
        Ok(RunningNode {
            node,
            addr,
            stop,
            replicas,
            transport,
            metrics_task,
            metrics_addr,
            server,
        })
    }

    /// The address the node serves on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address metrics are served on, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The shared node state.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Stops like a crash: every task aborted, nothing flushed beyond what is durable.
    pub fn abort(self) {
        self.server.abort();
        if let Some(t) = &self.metrics_task {
            t.abort();
        }
        for t in &self.replicas {
            t.abort();
        }
        self.transport.stop();
    }

    /// Graceful stop: replicas finish their current Ready and flush their state
    /// machines; the server gets `grace` to finish open calls, then is aborted.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(t) = &self.metrics_task {
            t.abort();
        }
        for t in self.replicas {
            let _ = t.await;
        }
        let mut server = self.server;
        if tokio::time::timeout(grace, &mut server).await.is_err() {
            server.abort();
        }
        self.transport.stop();
    }
}

/// Binds `addr`, with a clear error when the port is taken.
pub async fn bind(addr: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(io_err(format!("listening on {addr} (port in use?)")))
}

/// The directory of a shard's replica under a data dir.
pub fn shard_dir(data_dir: &Path, shard: u64) -> PathBuf {
    data_dir.join(format!("shard-{shard}"))
}
