//! Leader following, retries and deadlines against mock nodes: NotLeader hints, transient
//! Unavailable, answers lost after the write applied (same tag, one application),
//! deadlines, unreachable endpoints, WrongShard and map refresh, eventual-read spreading.

mod common;

use std::time::Duration;

use common::Mock;
use dougdb_client::{Client, ClientOptions, Consistency, Error, NodeId, ShardId};

fn options(mock: &Mock) -> ClientOptions {
    ClientOptions {
        seed: Some(11),
        ..ClientOptions::new(&mock.endpoints())
    }
}

#[tokio::test]
async fn a_not_leader_hint_is_followed_and_cached() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    assert_eq!(client.cached_leader(ShardId(0)), Some(NodeId(1)));
    mock.lock().leaders[0] = Some(3);

    client.put(b"k", b"v").await.unwrap();
    let calls = mock.calls();
    let nodes: Vec<u64> = calls.iter().map(|c| c.node).collect();
    assert_eq!(
        nodes,
        vec![1, 3],
        "asked the stale leader, then the hinted one"
    );
    assert_eq!(calls[0].tag, calls[1].tag, "the redirect reuses the tag");
    assert_eq!(client.cached_leader(ShardId(0)), Some(NodeId(3)));

    client.get(b"k", Consistency::Strong).await.unwrap();
    assert_eq!(
        mock.calls().last().unwrap().node,
        3,
        "the cache is used next time"
    );
}

#[tokio::test]
async fn a_hint_with_only_an_id_uses_the_maps_address() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    mock.lock().leaders[0] = Some(2);
    mock.behave(1, |b| b.hint_without_address = true);
    client.put(b"k", b"v").await.unwrap();
    assert_eq!(mock.calls().last().unwrap().node, 2);
}

#[tokio::test]
async fn transient_unavailable_is_retried_with_the_same_tag_then_succeeds() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    mock.behave(1, |b| b.fail_unavailable = 3);

    client.put(b"k", b"v").await.unwrap();
    let calls = mock.calls();
    assert_eq!(calls.len(), 4);
    let tag = calls[0].tag.unwrap();
    assert_ne!(tag.0, 0, "writes are tagged");
    assert!(calls.iter().all(|c| c.tag == Some(tag)), "{calls:?}");
    assert_eq!(mock.lock().applied, 1);

    client.put(b"k2", b"v").await.unwrap();
    let next = mock.calls().last().unwrap().tag.unwrap();
    assert_eq!(
        next,
        (tag.0, tag.1 + 1),
        "the next write takes the next sequence"
    );
}

#[tokio::test]
async fn an_answer_lost_after_apply_is_retried_and_answered_from_the_single_application() {
    let mock = Mock::start(1, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    client.put(b"k", b"v").await.unwrap();
    mock.behave(1, |b| b.lose_after_apply = 1);

    let existed = client.delete(b"k").await.unwrap();
    assert!(
        existed,
        "the retry gets the first application's answer, not a second delete's"
    );
    let deletes: Vec<_> = mock
        .calls()
        .into_iter()
        .filter(|c| c.method == "delete")
        .collect();
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0].tag, deletes[1].tag);
    assert_eq!(mock.lock().applied, 2, "one put, one delete");
}

#[tokio::test]
async fn a_slow_node_makes_the_call_time_out_at_its_deadline() {
    let mock = Mock::start(1, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    mock.behave(1, |b| b.delay = Some(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let timeout = Duration::from_millis(200);
    let err = client
        .with_timeout(timeout)
        .put(b"k", b"v")
        .await
        .unwrap_err();
    assert_eq!(err, Error::Timeout { deadline: timeout });
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = client
        .with_timeout(timeout)
        .get(b"k", Consistency::Strong)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn a_stalled_cached_leader_is_left_after_one_attempt_timeout() {
    let mock = Mock::start(3, 1).await;
    let mut opts = options(&mock);
    opts.attempt_timeout = Duration::from_millis(300);
    let client = Client::connect_with(opts).await.unwrap();
    mock.lock().leaders[0] = Some(1);
    client.put(b"k", b"1").await.unwrap(); // caches node 1 as the leader
    // Node 1 stalls (as if paused) and node 2 takes over: the write does not wait out
    // its 4 s deadline on node 1, it moves on after one attempt and lands on node 2.
    mock.behave(1, |b| b.delay = Some(Duration::from_secs(30)));
    mock.lock().leaders[0] = Some(2);
    let started = std::time::Instant::now();
    client
        .with_timeout(Duration::from_secs(4))
        .put(b"k", b"2")
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        client
            .get(b"k", Consistency::Strong)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"2"[..])
    );
}

#[tokio::test]
async fn a_cluster_without_a_leader_is_unavailable_after_the_deadline() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    mock.lock().leaders[0] = None;
    let err = client
        .with_timeout(Duration::from_millis(300))
        .put(b"k", b"v")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                shard: Some(ShardId(0)),
                ..
            }
        ),
        "{err}"
    );
    let nodes: std::collections::HashSet<u64> = mock.calls().iter().map(|c| c.node).collect();
    assert!(nodes.len() > 1, "tried other replicas: {nodes:?}");
}

#[tokio::test]
async fn unreachable_endpoints_give_a_connection_error() {
    let mut dead = Vec::new();
    for _ in 0..2 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        dead.push(listener.local_addr().unwrap().to_string());
    } // dropped: nothing listens there any more
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..ClientOptions::new(&dead)
    };
    let err = Client::connect_with(options).await.unwrap_err();
    match err {
        Error::Connection { endpoints, .. } => assert_eq!(endpoints, dead),
        other => panic!("expected a connection error, got {other}"),
    }
}

#[tokio::test]
async fn wrong_shard_refreshes_the_map_and_reaches_the_new_replica() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    {
        let mut m = mock.lock();
        m.replicas[0] = vec![2];
        m.leaders[0] = Some(2);
        m.map_version = 2;
    }
    mock.behave(1, |b| {
        b.not_hosting.insert(0);
    });
    client.put(b"k", b"v").await.unwrap();
    assert_eq!(client.cluster_map().version, 2);
    assert_eq!(mock.calls().last().unwrap().node, 2);
}

#[tokio::test]
async fn eventual_reads_spread_over_the_replicas() {
    let mock = Mock::start(3, 1).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    for _ in 0..9 {
        client.get(b"k", Consistency::Eventual).await.unwrap();
    }
    let nodes: std::collections::HashSet<u64> = mock.calls().iter().map(|c| c.node).collect();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
}

#[tokio::test]
async fn concurrent_writes_use_distinct_client_ids() {
    let mock = Mock::start(1, 4).await;
    let client = Client::connect_with(options(&mock)).await.unwrap();
    mock.behave(1, |b| b.delay = Some(Duration::from_millis(50)));
    let writes = (0..8).map(|i| {
        let client = client.clone();
        async move { client.put(format!("k{i}"), b"v").await }
    });
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    let ids: std::collections::HashSet<u64> =
        mock.calls().iter().map(|c| c.tag.unwrap().0).collect();
    assert_eq!(ids.len(), 8, "8 writes in flight at once need 8 client ids");
}
