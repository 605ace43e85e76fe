//! Routing plugins end to end: three nodes and three shards routed by the built-in range
//! router (split points in the cluster file); every node serves the plugin's bytes, digest
//! and configuration in `ClusterMap`; the Rust client checks the digest, routes each key to
//! the shard its range names, and scans in key order across the shards. The cluster map
//! follows membership changes and survives a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestCluster, get};
use dougdb_client::{Client, Consistency, ShardId};
use dougdb_proto::v1::{self, ClusterMapRequest};
use dougdb_server::cluster::{RoutingEntry, ShardEntry};

fn shards(n: u64) -> Vec<ShardEntry> {
    (0..n)
        .map(|id| ShardEntry {
            id,
            replicas: vec![1, 2, 3],
            joining: vec![],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_range_router_is_served_by_the_nodes_and_routes_the_client() {
    let mut c = TestCluster::start_file(3, shards(3), false, false, None, |f| {
        f.routing = RoutingEntry {
            name: "range".into(),
            splits: vec!["g".into(), "p".into()],
            ..Default::default()
        };
    })
    .await;
    for shard in 0..3 {
        c.wait_leader_of(shard).await;
    }
    // Every node serves the same bytes, digest and configuration.
    let mut digests = Vec::new();
    for id in 1..=3 {
        let map = c
            .doug(id)
            .await
            .cluster_map(ClusterMapRequest {
                include_routing_plugin: true,
            })
            .await
            .unwrap()
            .into_inner()
            .map
            .unwrap();
        let r = map.routing.unwrap();
        assert_eq!(r.name, "range");
        let wasm = r.wasm.expect("the plugin's bytes");
        assert_eq!(dougdb_plugin::Digest::of(&wasm).0.as_slice(), &r.sha256[..]);
        assert_eq!(
            r.config.to_vec(),
            dougdb_plugin::range_router_config(&[b"g", b"p"])
        );
        digests.push(r.sha256);
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]));

    let endpoints: Vec<String> = (1..=3).map(|id| c.address(id)).collect();
    let client = Client::connect(&endpoints).await.unwrap();
    for (key, shard) in [
        ("apple", 0),
        ("fig", 0),
        ("grape", 1),
        ("orange", 1),
        ("pear", 2),
        ("zucchini", 2),
    ] {
        assert_eq!(client.shard_for(key).unwrap(), ShardId(shard), "{key}");
        client.put(key, format!("v-{key}")).await.unwrap();
    }
    // The write landed on the shard the range names (read straight from a replica).
    let mut g = get(b"pear", v1::Consistency::Eventual);
    g.shard = 2;
    let leader2 = c.wait_leader_of(2).await;
    let r = c.doug(leader2).await.get(g).await.unwrap().into_inner();
    assert_eq!(r.value.as_deref(), Some(&b"v-pear"[..]));
    let all = client
        .scan(b"", None, None, Consistency::Strong)
        .await
        .unwrap();
    let keys: Vec<&[u8]> = all.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(
        keys,
        vec![
            &b"apple"[..],
            b"fig",
            b"grape",
            b"orange",
            b"pear",
            b"zucchini"
        ]
    );

    // After a restart the node serves its data dir's copy of the plugin.
    let leader = c.wait_leader_of(0).await;
    c.kill(leader);
    c.restart(leader).await;
    let map = c
        .doug(leader)
        .await
        .cluster_map(ClusterMapRequest {
            include_routing_plugin: true,
        })
        .await
        .unwrap()
        .into_inner()
        .map
        .unwrap();
    assert_eq!(map.routing.unwrap().sha256, digests[0]);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_member_enters_the_served_cluster_map_and_its_persisted_copy() {
    let mut c = TestCluster::start_file(4, shards(1), false, false, None, |f| {
        f.shards[0].joining = vec![4];
    })
    .await;
    let leader = c.wait_leader().await;
    let mut admin = c.admin(leader).await.unwrap();
    // Node 4 joins under a different address than the file gave (as after moving it):
    // the map every member serves follows the conf change, and is persisted.
    let before = c
        .doug(leader)
        .await
        .cluster_map(ClusterMapRequest::default())
        .await;
    let version_before = before.unwrap().into_inner().map.unwrap().version;
    admin
        .add_learner(v1::AddLearnerRequest {
            shard: 0,
            node_id: 4,
            address: c.address(4),
        })
        .await
        .unwrap();
    for id in 1..=3 {
        let map = common::eventually(
            "the conf change applied",
            std::time::Duration::from_secs(10),
            || {
                let c = &c;
                async move {
                    let m = c
                        .doug(id)
                        .await
                        .cluster_map(ClusterMapRequest::default())
                        .await
                        .ok()?
                        .into_inner()
                        .map?;
                    m.shards[0].learners.contains(&4).then_some(m)
                }
            },
        )
        .await;
        assert!(map.version > version_before, "node {id}: {map:?}");
        assert!(
            map.nodes
                .iter()
                .any(|n| n.id == 4 && n.address == c.address(4))
        );
        let persisted = dougdb_server::cluster::ClusterFile::load(
            &dougdb_server::cluster::persisted_path(&c.data_dir(id)),
        )
        .unwrap();
        assert_eq!(persisted.version, map.version, "node {id}");
    }
    c.stop_all().await;
}
