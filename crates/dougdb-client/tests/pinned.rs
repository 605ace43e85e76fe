//! Pinned clients talk to one node and never redirect: writes and strong reads on a node
//! that does not lead give NotLeader with the hint; eventual reads come from that node.

mod common;

use std::time::Duration;

use common::Mock;
use dougdb_client::{Client, ClientOptions, Consistency, Error, NodeId, ShardId};

#[tokio::test]
async fn a_pinned_follower_answers_not_leader_instead_of_redirecting() {
    let mock = Mock::start(3, 1).await;
    let client = Client::pinned(&mock.addresses[1]).await.unwrap();
    assert!(client.is_pinned());

    let err = client.put(b"k", b"v").await.unwrap_err();
    assert_eq!(
        err,
        Error::NotLeader {
            shard: ShardId(0),
            leader_hint: Some(NodeId(1))
        }
    );
    let err = client.get(b"k", Consistency::Strong).await.unwrap_err();
    assert!(matches!(err, Error::NotLeader { .. }), "{err}");
    let nodes: Vec<u64> = mock.calls().iter().map(|c| c.node).collect();
    assert_eq!(nodes, vec![2, 2], "no redirect to the leader");

    mock.lock().shards[0].insert("k".into(), "v".into());
    let v = client.get(b"k", Consistency::Eventual).await.unwrap();
    assert_eq!(v.as_deref(), Some(&b"v"[..]));
    assert_eq!(
        mock.calls().last().unwrap().node,
        2,
        "served by the pinned node"
    );
}

#[tokio::test]
async fn a_pinned_leader_serves_writes_and_no_hint_means_none() {
    let mock = Mock::start(3, 1).await;
    let client = Client::pinned(&mock.addresses[0]).await.unwrap();
    client.put(b"k", b"v").await.unwrap();
    assert!(client.delete(b"k").await.unwrap());

    mock.lock().leaders[0] = None;
    let err = client.put(b"k", b"v").await.unwrap_err();
    assert_eq!(
        err,
        Error::NotLeader {
            shard: ShardId(0),
            leader_hint: None
        }
    );
}

#[tokio::test]
async fn a_pinned_client_of_a_node_that_went_away_reports_a_connection_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let options = ClientOptions {
        pinned: true,
        timeout: Duration::from_millis(200),
        ..ClientOptions::new(&[address.as_str()])
    };
    let err = Client::connect_with(options).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err}");
}
