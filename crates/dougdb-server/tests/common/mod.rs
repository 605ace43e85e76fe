//! Test harness: an in-process cluster of real nodes on 127.0.0.1:0 (listeners bound
//! first, then the cluster file written with their ports), gRPC clients, and polling
//! against deadlines (never a bare sleep to synchronise).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dougdb_proto::v1::admin_client::AdminClient;
use dougdb_proto::v1::doug_client::DougClient;
use dougdb_proto::v1::{self, Role, StatusRequest};
use dougdb_server::cluster::{ClusterFile, NodeEntry, RoutingEntry, ShardEntry};
use dougdb_server::node::{NodeOptions, RunningNode, bind};
use tonic::transport::Channel;

/// Polls `f` every 20 ms until it gives `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub file: ClusterFile,
    pub nodes: Vec<Option<RunningNode>>,
    pub faults: bool,
    pub lease_reads: bool,
    pub snapshot_entries: Option<u64>,
}

impl TestCluster {
    /// Starts `n` nodes hosting one shard (0) with every node a voter.
    pub async fn start(n: u64) -> TestCluster {
        Self::start_with(n, false).await
    }

    /// Like `start`, with fault injection on every node when `faults`.
    pub async fn start_with(n: u64, faults: bool) -> TestCluster {
        Self::start_shards(n, 1, faults).await
    }

    /// `n` nodes and `shards` shards, every node a voter of every shard.
    pub async fn start_shards(n: u64, shards: u64, faults: bool) -> TestCluster {
        let shards = (0..shards)
            .map(|id| ShardEntry {
                id,
                replicas: (1..=n).collect(),
                joining: Vec::new(),
            })
            .collect();
        Self::start_custom(n, shards, faults).await
    }

    /// `n` nodes hosting `shards`.
    pub async fn start_custom(n: u64, shards: Vec<ShardEntry>, faults: bool) -> TestCluster {
        Self::start_opts(n, shards, faults, false, None).await
    }

    /// `n` nodes hosting `shards`; `lease_reads` switches strong reads to leases.
    pub async fn start_opts(
        n: u64,
        shards: Vec<ShardEntry>,
        faults: bool,
        lease_reads: bool,
        snapshot_entries: Option<u64>,
    ) -> TestCluster {
        Self::start_file(n, shards, faults, lease_reads, snapshot_entries, |_| {}).await
    }

    /// Like `start_opts`, with the cluster file edited by `edit` before the nodes start.
    pub async fn start_file(
        n: u64,
        shards: Vec<ShardEntry>,
        faults: bool,
        lease_reads: bool,
        snapshot_entries: Option<u64>,
        edit: impl FnOnce(&mut ClusterFile),
    ) -> TestCluster {
        let dir = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        let mut nodes = Vec::new();
        for id in 1..=n {
            let l = bind("127.0.0.1:0").await.unwrap();
            nodes.push(NodeEntry {
                id,
                address: l.local_addr().unwrap().to_string(),
            });
            listeners.push(l);
        }
        let file = ClusterFile {
            cluster_id: 0xD0_96,
            version: 1,
            nodes,
            shards,
            routing: RoutingEntry {
                name: "hash".into(),
                sha256: String::new(),
                ..Default::default()
            },
            compaction: Default::default(),
        };
        let mut file = file;
        edit(&mut file);
        let mut c = TestCluster {
            dir,
            file,
            nodes: Vec::new(),
            faults,
            lease_reads,
            snapshot_entries,
        };
        for (i, l) in listeners.into_iter().enumerate() {
            let node = RunningNode::start(c.options(i as u64 + 1), c.file.clone(), l)
                .await
                .unwrap();
            c.nodes.push(Some(node));
        }
        c
    }

    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    pub fn options(&self, id: u64) -> NodeOptions {
        let mut o = NodeOptions::new(id, self.data_dir(id));
        o.fault_injection = self.faults;
        o.lease_reads = self.lease_reads;
        o.snapshot_entries = self.snapshot_entries;
        o.request_timeout = Duration::from_secs(2);
        o
    }

    pub fn address(&self, id: u64) -> String {
        self.file.address(id).unwrap().to_owned()
    }

    pub async fn doug(&self, id: u64) -> DougClient<Channel> {
        DougClient::connect(format!("http://{}", self.address(id)))
            .await
            .unwrap()
    }

    pub async fn admin(&self, id: u64) -> Option<AdminClient<Channel>> {
        AdminClient::connect(format!("http://{}", self.address(id)))
            .await
            .ok()
    }

    /// Node ids still running.
    pub fn live(&self) -> Vec<u64> {
        (1..=self.nodes.len() as u64)
            .filter(|id| self.nodes[*id as usize - 1].is_some())
            .collect()
    }

    /// The live node that says it leads shard 0 in the highest term, if any.
    pub async fn leader_now(&self) -> Option<u64> {
        self.leader_of(0).await
    }

    /// The live node that says it leads `shard` in the highest term, if any.
    pub async fn leader_of(&self, shard: u64) -> Option<u64> {
        let mut best: Option<(u64, u64)> = None;
        for id in self.live() {
            let Some(mut a) = self.admin(id).await else {
                continue;
            };
            let Ok(s) = a
                .status(StatusRequest {
                    shards: vec![shard],
                })
                .await
            else {
                continue;
            };
            for r in s.into_inner().replicas {
                if r.role == Role::Leader as i32 && best.is_none_or(|(t, _)| r.term > t) {
                    best = Some((r.term, id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    pub async fn wait_leader(&self) -> u64 {
        self.wait_leader_of(0).await
    }

    pub async fn wait_leader_of(&self, shard: u64) -> u64 {
        eventually("a shard leader", Duration::from_secs(10), || {
            self.leader_of(shard)
        })
        .await
    }

    /// Crash-stops node `id` (its tasks aborted).
    pub fn kill(&mut self, id: u64) {
        if let Some(n) = self.nodes[id as usize - 1].take() {
            n.abort();
        }
    }

    /// Starts node `id` again on its own data dir and address (after `kill` or `stop_all`).
    pub async fn restart(&mut self, id: u64) {
        // A killed node's listener closes once its aborted tasks are dropped: poll.
        let addr = self.address(id);
        let listener = eventually("the node's port to be free", Duration::from_secs(5), || {
            let addr = addr.clone();
            async move { bind(&addr).await.ok() }
        })
        .await;
        let node = RunningNode::start(self.options(id), self.file.clone(), listener)
            .await
            .unwrap();
        self.nodes[id as usize - 1] = Some(node);
    }

    pub async fn stop_all(&mut self) {
        for n in self.nodes.iter_mut() {
            if let Some(n) = n.take() {
                n.shutdown(Duration::from_secs(1)).await;
            }
        }
    }
}

pub fn put(key: &[u8], value: &[u8]) -> v1::PutRequest {
    v1::PutRequest {
        shard: 0,
        key: key.to_vec().into(),
        value: value.to_vec().into(),
        tag: None,
    }
}

pub fn get(key: &[u8], c: v1::Consistency) -> v1::GetRequest {
    v1::GetRequest {
        shard: 0,
        key: key.to_vec().into(),
        consistency: c as i32,
    }
}
