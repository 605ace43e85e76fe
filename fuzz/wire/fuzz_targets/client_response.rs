//! Fuzz target: arbitrary bytes as what a client receives from a node it does not trust
//! blindly. The first byte picks the message:
//! - even: a `ClusterMapResponse`, checked by `dougdb_client::ClusterMap::from_proto`. A
//!   map or an error, never a panic; an accepted map keeps the promises the client indexes
//!   by (shards `0..n`, n >= 1, every replica a listed node), and written back as a proto
//!   it is accepted again as the same map.
//! - odd: the `ErrorDetail` of a failed call (`dougdb_proto::error_detail`): decoded or
//!   refused, never a panic; a decoded detail travels in a `tonic::Status` and comes back
//!   equal (an empty one as no detail).
#![no_main]

use dougdb_client::{ClusterMap, NodeId, ShardId};
use dougdb_proto::error_detail::{from_status, to_status};
use dougdb_proto::v1;
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// `map` as a node would serve it.
fn to_proto(map: &ClusterMap) -> v1::ClusterMap {
    v1::ClusterMap {
        cluster_id: map.cluster_id,
        version: map.version,
        nodes: map
            .nodes
            .iter()
            .map(|(id, address)| v1::NodeInfo {
                id: id.0,
                address: address.clone(),
            })
            .collect(),
        shards: map
            .shards
            .iter()
            .map(|s| v1::ShardInfo {
                id: s.id.0,
                voters: s.voters.iter().map(|n| n.0).collect(),
                learners: s.learners.iter().map(|n| n.0).collect(),
                leader_hint: s.leader_hint.map(|n| n.0),
            })
            .collect(),
        routing: Some(v1::RoutingPlugin {
            name: map.routing.name.clone(),
            sha256: map
                .routing
                .sha256
                .map(|d| d.to_vec())
                .unwrap_or_default()
                .into(),
            wasm: None,
            config: map.routing.config.clone().into(),
        }),
    }
}

fn cluster_map(bytes: &[u8]) {
    let Ok(resp) = v1::ClusterMapResponse::decode(bytes) else {
        return;
    };
    let Some(wire) = resp.map else { return };
    let Ok(map) = ClusterMap::from_proto(wire) else {
        return;
    };
    assert!(!map.shards.is_empty());
    assert_eq!(map.shard_count() as usize, map.shards.len());
    for (i, shard) in map.shards.iter().enumerate() {
        assert_eq!(map.shard(ShardId(i as u64)).map(|s| s.id), Some(shard.id));
        for node in shard.replicas() {
            let address = map.address(node);
            assert!(address.is_some(), "shard {i} names unlisted node {node:?}");
        }
    }
    let _ = map.node_at("http://127.0.0.1:1");
    let _ = map.address(NodeId(u64::MAX));
    let again = ClusterMap::from_proto(to_proto(&map))
        .unwrap_or_else(|e| panic!("{map:?} written back is refused: {e}"));
    assert_eq!(again, map);
}

fn error_detail(bytes: &[u8]) {
    let Ok(detail) = v1::ErrorDetail::decode(bytes) else {
        return;
    };
    let status = to_status(&detail, "fuzz");
    assert_eq!(status.code(), detail.code());
    let back = from_status(&status).unwrap_or_else(|e| panic!("{detail:?} came back as {e}"));
    let expected = detail.kind.is_some().then_some(detail);
    assert_eq!(back, expected);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        cluster_map(bytes);
    } else {
        error_detail(bytes);
    }
});
