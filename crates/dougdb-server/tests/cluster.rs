//! Three in-process nodes over real gRPC on loopback, one shard: election, replication,
//! strong reads (on the leader, and on followers through it) and eventual reads, NotLeader
//! hints for writes, InvalidArgument, and leader loss with every acknowledged write still
//! readable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestCluster, eventually, get, put};
use dougdb_proto::error_detail::from_status;
use dougdb_proto::v1::error_detail::Kind;
use dougdb_proto::v1::{self, Consistency};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_replicate_and_survive_leader_loss() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;

    let mut acked = Vec::new();
    for i in 0..40u32 {
        let k = format!("key-{i:03}").into_bytes();
        let v = format!("value-{i}").into_bytes();
        let r = lc.put(put(&k, &v)).await.unwrap().into_inner();
        assert!(r.index > 0);
        acked.push((k, v));
    }
    // Strong read on the leader.
    let got = lc
        .get(get(b"key-007", Consistency::Strong))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.value.as_deref(), Some(&b"value-7"[..]));

    // Eventual reads on every follower catch up.
    for id in c.live().into_iter().filter(|id| *id != leader) {
        let mut fc = c.doug(id).await;
        eventually("replication to a follower", Duration::from_secs(10), || {
            let mut fc = fc.clone();
            async move {
                let r = fc.get(get(b"key-039", Consistency::Eventual)).await.ok()?;
                (r.into_inner().value.as_deref() == Some(&b"value-39"[..])).then_some(())
            }
        })
        .await;
        // A follower serves strong reads through the leader (ReadIndex forwarded): it
        // sees the last acknowledged write at once, not eventually.
        let r = fc.get(get(b"key-039", Consistency::Strong)).await.unwrap();
        assert_eq!(r.into_inner().value.as_deref(), Some(&b"value-39"[..]));
        lc.put(put(b"fresh", b"1")).await.unwrap();
        let r = fc.get(get(b"fresh", Consistency::Strong)).await.unwrap();
        assert_eq!(r.into_inner().value.as_deref(), Some(&b"1"[..]));
        // It refuses writes with a hint naming the leader.
        let status = fc.put(put(b"x", b"y")).await.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let Some(Kind::NotLeader(nl)) = from_status(&status).unwrap().and_then(|d| d.kind) else {
            panic!("expected NotLeader, got {status:?}");
        };
        let hint = nl.leader_hint.expect("a leader hint");
        assert_eq!(hint.node_id, leader);
        assert_eq!(hint.address, c.address(leader));
    }

    // Crash the leader: a new one is elected and keeps every acknowledged write.
    c.kill(leader);
    let new_leader = c.wait_leader().await;
    assert_ne!(new_leader, leader);
    let mut nc = c.doug(new_leader).await;
    for (k, v) in &acked {
        let r = nc
            .get(get(k, Consistency::Strong))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.value.as_deref(), Some(v.as_slice()), "key {k:?}");
    }
    // And writes go on with two of three nodes.
    nc.put(put(b"after", b"failover")).await.unwrap();
    let r = nc
        .get(get(b"after", Consistency::Strong))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.value.as_deref(), Some(&b"failover"[..]));
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_invalid_argument_and_unknown_shard_is_wrong_shard() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    let big = vec![7u8; (1 << 20) + 1];
    for status in [
        lc.put(put(b"", b"v")).await.unwrap_err(),
        lc.put(put(&vec![1u8; 5000], b"v")).await.unwrap_err(),
        lc.put(put(b"k", &big)).await.unwrap_err(),
        lc.get(get(b"", Consistency::Eventual)).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let kind = from_status(&status).unwrap().and_then(|d| d.kind);
        assert!(matches!(kind, Some(Kind::InvalidArgument(_))), "{status:?}");
    }
    let mut req = put(b"k", b"v");
    req.shard = 9;
    let status = lc.put(req).await.unwrap_err();
    let kind = from_status(&status).unwrap().and_then(|d| d.kind);
    assert!(
        matches!(kind, Some(Kind::WrongShard(v1::WrongShard { shard: 9 }))),
        "{status:?}"
    );
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_shards_on_three_nodes_are_independent_groups() {
    let mut c = TestCluster::start_shards(3, 4, false).await;
    for shard in 0..4u64 {
        let leader = c.wait_leader_of(shard).await;
        let mut lc = c.doug(leader).await;
        let key = format!("shard-{shard}").into_bytes();
        let mut p = put(&key, b"v");
        p.shard = shard;
        lc.put(p).await.unwrap();
        for id in 1..=3u64 {
            let mut dc = c.doug(id).await;
            eventually(
                "the write on every replica",
                Duration::from_secs(10),
                || {
                    let mut dc = dc.clone();
                    let mut g = get(&key, Consistency::Eventual);
                    g.shard = shard;
                    async move { dc.get(g).await.ok()?.into_inner().value.map(|_| ()) }
                },
            )
            .await;
            // Other shards do not see it.
            let mut g = get(&key, Consistency::Eventual);
            g.shard = (shard + 1) % 4;
            assert_eq!(dc.get(g).await.unwrap().into_inner().value, None);
        }
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_reads_serve_strong_reads_on_the_leader_and_through_it() {
    let shard = dougdb_server::cluster::ShardEntry {
        id: 0,
        replicas: vec![1, 2, 3],
        joining: vec![],
    };
    let mut c = TestCluster::start_opts(3, vec![shard], false, true, None).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    lc.put(put(b"lease", b"1")).await.unwrap();
    let r = lc.get(get(b"lease", Consistency::Strong)).await.unwrap();
    assert_eq!(r.into_inner().value.as_deref(), Some(&b"1"[..]));
    let follower = c.live().into_iter().find(|id| *id != leader).unwrap();
    let r = c
        .doug(follower)
        .await
        .get(get(b"lease", Consistency::Strong))
        .await
        .unwrap();
    assert_eq!(r.into_inner().value.as_deref(), Some(&b"1"[..]));
    c.stop_all().await;
}
