//! What `load` drives: DougDB through its Rust client, or etcd through a raw tonic client
//! of its KV service. Both sit behind [`Handle`], so the closed loops in `workload.rs`
//! are the same code for both systems.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dougdb_client::{Client, ClientOptions, Consistency};

use crate::etcd::{self, EtcdConn};
use crate::workload::{Op, preload};

/// The system under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// DougDB (started by `load` unless `--endpoints` is given).
    Dougdb,
    /// etcd v3 (an already-running cluster: `--endpoints` is required).
    Etcd,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Dougdb => "dougdb",
            Target::Etcd => "etcd",
        }
    }
}

/// One client handle the closed-loop tasks share: task `i` uses handle
/// `i % handles.len()`.
#[derive(Debug, Clone)]
pub enum Handle {
    /// A DougDB client (its own connection pool to every node, client-side routing).
    Dougdb(Client),
    /// One HTTP/2 connection to one etcd member.
    Etcd(EtcdConn),
}

impl Handle {
    /// One operation on `key`; whether it succeeded.
    pub async fn call(&self, op: Op, key: Vec<u8>, value: &[u8]) -> bool {
        match (self, op) {
            (Handle::Dougdb(c), Op::Put) => c.put(&key, value).await.is_ok(),
            (Handle::Dougdb(c), Op::GetStrong) => c.get(&key, Consistency::Strong).await.is_ok(),
            (Handle::Dougdb(c), Op::GetEventual) => {
                c.get(&key, Consistency::Eventual).await.is_ok()
            }
            (Handle::Etcd(c), Op::Put) => c.put(key, value.to_vec()).await.is_ok(),
            (Handle::Etcd(c), Op::GetStrong) => c.get(key, false).await.is_ok(),
            (Handle::Etcd(c), Op::GetEventual) => c.get(key, true).await.is_ok(),
        }
    }
}

/// Connects `connections` handles to `endpoints` and waits (within `timeout`) until the
/// cluster can serve: every DougDB shard has a leader, or etcd answers a linearizable
/// read on every connection.
pub async fn connect(
    target: Target,
    endpoints: &[String],
    connections: usize,
    max_clients: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Handle>> {
    match target {
        Target::Dougdb => {
            wait_leaders(endpoints, timeout).await?;
            let mut handles = Vec::new();
            for _ in 0..connections.max(1) {
                let options = ClientOptions {
                    write_slots: max_clients.max(64),
                    ..ClientOptions::new(endpoints)
                };
                let client = Client::connect_with(options).await.context("connecting")?;
                handles.push(Handle::Dougdb(client));
            }
            Ok(handles)
        }
        Target::Etcd => {
            let conns = etcd::connect_all(endpoints, connections).await?;
            etcd::wait_ready(&conns, timeout).await?;
            Ok(conns.into_iter().map(Handle::Etcd).collect())
        }
    }
}

/// Polls DougDB's cluster map until every shard has a leader, within `timeout`.
pub async fn wait_leaders(endpoints: &[String], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let client = Client::connect_with(ClientOptions {
        timeout,
        ..ClientOptions::new(endpoints)
    })
    .await
    .context("fetching the cluster map")?;
    loop {
        if client
            .cluster_map()
            .shards
            .iter()
            .all(|s| s.leader_hint.is_some())
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("no leader for every shard within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = client.refresh_cluster_map().await;
    }
}

/// Writes every key of `0..keyspace` once (so gets find them); returns whether it wrote
/// (etcd skips a key space an earlier round already loaded).
pub async fn preload_all(
    handles: &[Handle],
    keyspace: u64,
    value: &Arc<Vec<u8>>,
) -> anyhow::Result<bool> {
    match &handles[0] {
        Handle::Dougdb(c) => preload(c, keyspace, value).await.map(|()| true),
        Handle::Etcd(_) => {
            let conns: Vec<EtcdConn> = handles
                .iter()
                .filter_map(|h| match h {
                    Handle::Etcd(c) => Some(c.clone()),
                    Handle::Dougdb(_) => None,
                })
                .collect();
            etcd::preload(&conns, keyspace, value).await
        }
    }
}
