//! Five in-process nodes over real gRPC on loopback, one shard: election and replication
//! to all five; the group keeps writing with two nodes down (three of five is a quorum),
//! refuses with three down, and comes back (every acknowledged write intact) when one
//! returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestCluster, eventually, get, put};
use dougdb_proto::v1::Consistency;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_nodes_elect_replicate_and_need_three_for_quorum() {
    let mut c = TestCluster::start(5).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    let mut acked = Vec::new();
    for i in 0..20u32 {
        let (k, v) = (
            format!("a-{i:02}").into_bytes(),
            format!("v{i}").into_bytes(),
        );
        lc.put(put(&k, &v)).await.unwrap();
        acked.push((k, v));
    }
    // Every one of the five replicas gets the writes.
    for id in 1..=5u64 {
        let dc = c.doug(id).await;
        eventually("replication to all five", Duration::from_secs(10), || {
            let mut dc = dc.clone();
            async move {
                let r = dc.get(get(b"a-19", Consistency::Eventual)).await.ok()?;
                (r.into_inner().value.as_deref() == Some(&b"v19"[..])).then_some(())
            }
        })
        .await;
    }

    // Down the leader and one follower: three of five still form a quorum.
    let follower = c.live().into_iter().find(|id| *id != leader).unwrap();
    c.kill(leader);
    c.kill(follower);
    let second = c.wait_leader().await;
    let mut sc = c.doug(second).await;
    for i in 0..10u32 {
        let (k, v) = (
            format!("b-{i:02}").into_bytes(),
            format!("w{i}").into_bytes(),
        );
        sc.put(put(&k, &v)).await.unwrap();
        acked.push((k, v));
    }

    // A third node down: two of five cannot commit; the write is refused, never acknowledged.
    let third = c.live().into_iter().find(|id| *id != second).unwrap();
    c.kill(third);
    let mut req = tonic::Request::new(put(b"no-quorum", b"x"));
    req.set_timeout(Duration::from_millis(1500));
    let status = sc.put(req).await.unwrap_err();
    assert!(
        matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::FailedPrecondition
        ),
        "{status:?}"
    );

    // One node back: a quorum again, and every acknowledged write is there.
    c.restart(third).await;
    let leader = c.wait_leader().await;
    let mut nc = c.doug(leader).await;
    eventually(
        "a write after the quorum returns",
        Duration::from_secs(10),
        || {
            let mut nc = nc.clone();
            async move { nc.put(put(b"back", b"1")).await.ok().map(|_| ()) }
        },
    )
    .await;
    for (k, v) in &acked {
        let r = nc
            .get(get(k, Consistency::Strong))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.value.as_deref(), Some(v.as_slice()), "key {k:?}");
    }
    c.stop_all().await;
}
