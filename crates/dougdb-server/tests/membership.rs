//! Membership over the Admin service: a joining node is added as a learner and catches
//! up, is promoted to voter, and a member is removed (also under a write load, removing
//! the leader itself, with no acknowledged write lost); a follower refuses with NotLeader;
//! leadership is handed over by TransferLeader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestCluster, eventually, get, put};
use dougdb_proto::v1::{self, Consistency, StatusRequest};
use dougdb_server::cluster::ShardEntry;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn add_learner_promote_and_remove() {
    let shard = ShardEntry {
        id: 0,
        replicas: vec![1, 2, 3],
        joining: vec![4],
    };
    let mut c = TestCluster::start_custom(4, vec![shard], false).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    for i in 0..20u32 {
        lc.put(put(format!("m{i}").as_bytes(), b"v")).await.unwrap();
    }
    let mut admin = c.admin(leader).await.unwrap();

    // Only the leader changes membership.
    let follower = (1..=3u64).find(|id| *id != leader).unwrap();
    let mut fa = c.admin(follower).await.unwrap();
    let req = v1::AddLearnerRequest {
        shard: 0,
        node_id: 4,
        address: c.address(4),
    };
    assert_eq!(
        fa.add_learner(req.clone()).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    let r = admin.add_learner(req).await.unwrap().into_inner();
    assert!(r.conf_state.unwrap().learners.contains(&4));
    // The learner catches up from the log.
    let d4 = c.doug(4).await;
    eventually("the learner to catch up", Duration::from_secs(10), || {
        let mut d4 = d4.clone();
        async move {
            let r = d4.get(get(b"m19", Consistency::Eventual)).await.ok()?;
            r.into_inner().value.map(|_| ())
        }
    })
    .await;

    let r = admin
        .promote(v1::PromoteRequest {
            shard: 0,
            node_id: 4,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.conf_state.unwrap().voters.contains(&4));

    let r = admin
        .remove_member(v1::RemoveMemberRequest {
            shard: 0,
            node_id: follower,
        })
        .await
        .unwrap()
        .into_inner();
    let conf = r.conf_state.unwrap();
    assert!(!conf.voters.contains(&follower));
    assert_eq!(conf.voters.len(), 3);

    // The group still writes, and node 4 sees the new write.
    lc.put(put(b"after", b"remove")).await.unwrap();
    eventually("node 4 to apply", Duration::from_secs(10), || {
        let mut d4 = d4.clone();
        async move {
            let r = d4.get(get(b"after", Consistency::Eventual)).await.ok()?;
            r.into_inner().value.map(|_| ())
        }
    })
    .await;
    let s = admin
        .status(StatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    let voters = s.replicas[0].conf_state.clone().unwrap().voters;
    assert!(voters.contains(&4) && !voters.contains(&follower));
    let map = lc
        .cluster_map(v1::ClusterMapRequest::default())
        .await
        .unwrap();
    let shard0 = map.into_inner().map.unwrap().shards[0].clone();
    assert!(shard0.voters.contains(&4) && !shard0.voters.contains(&follower));
    c.stop_all().await;
}

/// Writes `w-<n>` keys through the Rust client until told to stop; returns the keys
/// whose put was acknowledged.
async fn writer(
    client: dougdb_client::Client,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Vec<u8>> {
    let mut acked = Vec::new();
    for n in 0..100_000u32 {
        if *stop.borrow() {
            break;
        }
        let key = format!("w-{n:06}").into_bytes();
        if client.put(&key, b"v").await.is_ok() {
            acked.push(key);
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_changes_under_load_lose_no_acknowledged_write() {
    let shard = ShardEntry {
        id: 0,
        replicas: vec![1, 2, 3],
        joining: vec![4],
    };
    let mut c = TestCluster::start_custom(4, vec![shard], false).await;
    let leader = c.wait_leader().await;
    let endpoints: Vec<String> = (1..=3).map(|id| c.address(id)).collect();
    let client = dougdb_client::Client::connect(&endpoints).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let writers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(writer(client.clone(), stop_rx.clone())))
        .collect();
    let written = |n: usize| {
        let client = client.clone();
        async move {
            eventually("writes to go on", Duration::from_secs(10), || {
                let client = client.clone();
                async move {
                    let key = format!("w-{:06}", n);
                    client
                        .get(key, dougdb_client::Consistency::Strong)
                        .await
                        .ok()
                        .flatten()
                        .map(|_| ())
                }
            })
            .await
        }
    };
    written(20).await;

    let mut admin = c.admin(leader).await.unwrap();
    admin
        .add_learner(v1::AddLearnerRequest {
            shard: 0,
            node_id: 4,
            address: c.address(4),
        })
        .await
        .unwrap();
    written(60).await;
    admin
        .promote(v1::PromoteRequest {
            shard: 0,
            node_id: 4,
        })
        .await
        .unwrap();
    written(100).await;
    // Remove the leader itself: it steps down once the removal commits, and the writers
    // follow the new leader.
    admin
        .remove_member(v1::RemoveMemberRequest {
            shard: 0,
            node_id: leader,
        })
        .await
        .unwrap();
    written(160).await;
    stop_tx.send(true).unwrap();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() >= 160,
        "only {} writes acknowledged",
        acked.len()
    );
    let new_leader = eventually(
        "a leader among the members",
        Duration::from_secs(10),
        || {
            let c = &c;
            async move { c.leader_now().await.filter(|id| *id != leader) }
        },
    )
    .await;
    let mut nc = c.doug(new_leader).await;
    for key in &acked {
        let r = nc
            .get(get(key, Consistency::Strong))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.value.as_deref(), Some(&b"v"[..]), "key {key:?} lost");
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_transfer_hands_over_and_writes_go_on() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let target = (1..=3u64).find(|id| *id != leader).unwrap();
    let mut lc = c.doug(leader).await;
    lc.put(put(b"before", b"1")).await.unwrap();
    let mut admin = c.admin(leader).await.unwrap();
    let r = admin
        .transfer_leader(v1::TransferLeaderRequest { shard: 0, target })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.leader, Some(target));
    assert_eq!(c.wait_leader().await, target);
    // The old leader now redirects, the new one serves reads and writes.
    let status = lc.put(put(b"x", b"y")).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let mut tc = c.doug(target).await;
    tc.put(put(b"after", b"2")).await.unwrap();
    for (k, v) in [(&b"before"[..], &b"1"[..]), (b"after", b"2")] {
        let r = tc
            .get(get(k, Consistency::Strong))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.value.as_deref(), Some(v));
    }
    c.stop_all().await;
}
