//! The cluster map as the client uses it: nodes and their addresses, shards and their
//! replicas, the routing plugin. Checked once when fetched, so the rest of the client can
//! index it without further checks.

use std::collections::BTreeMap;

use dougdb_proto::v1;

use crate::{Error, NodeId, Result, ShardId};

/// A validated cluster map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMap {
    /// Chosen at bootstrap.
    pub cluster_id: u64,
    /// Increases with every membership change.
    pub version: u64,
    /// Node addresses (`host:port`).
    pub nodes: BTreeMap<NodeId, String>,
    /// Shards `0..n`, in id order.
    pub shards: Vec<ShardMap>,
    /// The routing plugin every client must use.
    pub routing: RoutingSpec,
}

/// One shard's replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardMap {
    /// Its id (= its index in [`ClusterMap::shards`]).
    pub id: ShardId,
    /// Voting replicas.
    pub voters: Vec<NodeId>,
    /// Non-voting replicas (they serve eventual reads too).
    pub learners: Vec<NodeId>,
    /// The leader, as known by the node that served the map.
    pub leader_hint: Option<NodeId>,
}

/// The routing plugin named by the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSpec {
    /// Its name (`"hash-router"` is the built-in hash router).
    pub name: String,
    /// sha256 of its wasm bytes; `None` when the map gives none (allowed only for the
    /// built-in hash router, which the client runs natively).
    pub sha256: Option<[u8; 32]>,
    /// Its configuration, passed to its `init` (e.g. the range router's split points).
    pub config: Vec<u8>,
}

impl ClusterMap {
    /// Checks a map as served by a node: shard ids `0..n` (n >= 1), replicas that are known
    /// nodes, a 32-byte digest.
    pub fn from_proto(map: v1::ClusterMap) -> Result<Self> {
        let nodes: BTreeMap<NodeId, String> = map
            .nodes
            .into_iter()
            .map(|n| (NodeId(n.id), n.address))
            .collect();
        let mut shards: Vec<ShardMap> = map
            .shards
            .into_iter()
            .map(|s| ShardMap {
                id: ShardId(s.id),
                voters: s.voters.into_iter().map(NodeId).collect(),
                learners: s.learners.into_iter().map(NodeId).collect(),
                leader_hint: s.leader_hint.map(NodeId),
            })
            .collect();
        shards.sort_by_key(|s| s.id);
        if shards.is_empty() || u32::try_from(shards.len()).is_err() {
            return Err(Error::protocol(format!(
                "the cluster map has {} shards",
                shards.len()
            )));
        }
        for (i, shard) in shards.iter().enumerate() {
            if shard.id.0 != i as u64 {
                return Err(Error::protocol(format!(
                    "the cluster map's shard ids are not 0..{}: found {} at position {i}",
                    shards.len(),
                    shard.id
                )));
            }
            if let Some(node) = shard.replicas().find(|n| !nodes.contains_key(n)) {
                return Err(Error::protocol(format!(
                    "shard {} names node {node}, which the cluster map does not list",
                    shard.id
                )));
            }
        }
        let routing = map
            .routing
            .ok_or_else(|| Error::protocol("the cluster map names no routing plugin"))?;
        let sha256 = match routing.sha256.len() {
            0 => None,
            _ => Some(<[u8; 32]>::try_from(routing.sha256.as_ref()).map_err(|_| {
                Error::protocol(format!(
                    "routing plugin {:?}: a sha256 digest has 32 bytes, the map has {}",
                    routing.name,
                    routing.sha256.len()
                ))
            })?),
        };
        Ok(Self {
            cluster_id: map.cluster_id,
            version: map.version,
            nodes,
            shards,
            routing: RoutingSpec {
                name: routing.name,
                sha256,
                config: routing.config.to_vec(),
            },
        })
    }

    /// Number of shards (validated to fit a `u32`, as routing plugins take it).
    pub fn shard_count(&self) -> u32 {
        u32::try_from(self.shards.len()).unwrap_or(u32::MAX)
    }

    /// The shard with id `shard`, if it exists.
    pub fn shard(&self, shard: ShardId) -> Option<&ShardMap> {
        usize::try_from(shard.0)
            .ok()
            .and_then(|i| self.shards.get(i))
    }

    /// The address of `node`, if the map lists it.
    pub fn address(&self, node: NodeId) -> Option<&str> {
        self.nodes.get(&node).map(String::as_str)
    }

    /// The node listening on `address`, if any.
    pub fn node_at(&self, address: &str) -> Option<NodeId> {
        let address = strip_scheme(address);
        self.nodes
            .iter()
            .find(|(_, a)| strip_scheme(a) == address)
            .map(|(id, _)| *id)
    }
}

impl ShardMap {
    /// Voters, then learners.
    pub fn replicas(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters.iter().chain(&self.learners).copied()
    }
}

/// `host:port` of an address given with or without `http://`.
pub(crate) fn strip_scheme(address: &str) -> &str {
    address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"))
        .unwrap_or(address)
}
