//! Membership over the Admin service: a joining node is added as a learner and catches
//! up, is promoted to voter, and a member is removed; a follower refuses with NotLeader.

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
