//! A throwaway 3-node cluster of `dougdb-server node` processes on 127.0.0.1: ports are
//! chosen by binding 127.0.0.1:0 first, then the cluster file is written with them; data
//! dirs and logs live in a temp dir removed on drop. Stopping sends SIGTERM, then SIGKILL
//! after a deadline.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dougdb_client::{Client, ClientOptions};

/// How long stopped nodes get to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The running cluster (stopped on drop if [`Cluster::stop`] was not called).
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// `host:port` of every node.
    pub addresses: Vec<String>,
}

/// The `dougdb-server` binary: `explicit`, else next to this executable (same target dir).
pub fn find_server(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(p) => p,
        None => {
            let exe = std::env::current_exe().context("locating the load binary")?;
            exe.with_file_name(format!("dougdb-server{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !path.is_file() {
        bail!(
            "no dougdb-server binary at {}: build it with `cargo build --release -p \
             dougdb-server` (same target dir as this binary) or pass --server PATH",
            path.display()
        );
    }
    Ok(path)
}

/// `n` free ports on 127.0.0.1 (bound, then released for the nodes to take).
fn free_addresses(n: usize) -> anyhow::Result<Vec<String>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("binding 127.0.0.1:0")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.to_string()))
        .collect()
}

fn cluster_json(addresses: &[String], shards: u64) -> String {
    let ids: Vec<String> = (1..=addresses.len()).map(|i| i.to_string()).collect();
    let nodes: Vec<String> = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| format!(r#"{{ "id": {}, "address": "{a}" }}"#, i + 1))
        .collect();
    let shards: Vec<String> = (0..shards)
        .map(|s| format!(r#"{{ "id": {s}, "replicas": [{}] }}"#, ids.join(", ")))
        .collect();
    format!(
        r#"{{ "cluster_id": 3735928559, "nodes": [{}], "shards": [{}], "routing": {{ "name": "hash", "sha256": "" }} }}"#,
        nodes.join(", "),
        shards.join(", ")
    )
}

impl Cluster {
    /// Starts `nodes` nodes hosting `shards` shards (every node a voter of each), each
    /// node with `extra_args` before its `node` subcommand.
    pub fn start(
        server: &Path,
        extra_args: &[String],
        nodes: usize,
        shards: u64,
    ) -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let addresses = free_addresses(nodes)?;
        let file = dir.path().join("cluster.json");
        std::fs::write(&file, cluster_json(&addresses, shards)).context("cluster file")?;
        let mut cluster = Cluster {
            dir,
            children: Vec::new(),
            addresses,
        };
        for (i, address) in cluster.addresses.clone().iter().enumerate() {
            let id = i + 1;
            let log = File::create(cluster.dir.path().join(format!("node-{id}.log")))?;
            let child = Command::new(server)
                .args(extra_args)
                .args(["node", "--id", &id.to_string(), "--listen", address])
                .arg("--data-dir")
                .arg(cluster.dir.path().join(format!("node-{id}")))
                .arg("--cluster")
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", server.display()))?;
            cluster.children.push(child);
        }
        Ok(cluster)
    }

    /// Connects a client and waits (within `timeout`) until every shard has a leader.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let client = Client::connect_with(ClientOptions {
            timeout,
            ..ClientOptions::new(&self.addresses)
        })
        .await
        .context("fetching the cluster map")?;
        loop {
            self.check_alive()?;
            let map = client.cluster_map();
            if map.shards.iter().all(|s| s.leader_hint.is_some()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "no leader for every shard within {timeout:?}; see {}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = client.refresh_cluster_map().await;
        }
    }

    fn logs(&self) -> String {
        format!("the node logs in {}", self.dir.path().display())
    }

    /// Fails if a node exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (i, child) in self.children.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                let log = self.dir.path().join(format!("node-{}.log", i + 1));
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                bail!("node {} exited ({status}):\n{text}", i + 1);
            }
        }
        Ok(())
    }

    /// SIGTERM to every node, SIGKILL to those still running after the grace period.
    pub fn stop(&mut self) {
        for child in &self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + STOP_GRACE;
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
