//! The Doug operations over gRPC on a 3-node cluster (delete, cas, batch, paginated
//! scan, exactly-once retries, cluster map), a full-cluster restart from disk, a data dir
//! of another cluster refused, and a partitioned minority that cannot write.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestCluster, eventually, get, put};
use dougdb_proto::v1::{self, Consistency, batch_op};
use dougdb_server::cluster::{ClusterFile, ShardEntry};
use dougdb_server::node::{RunningNode, bind};

fn scan(start: &[u8], end: Option<&[u8]>, limit: u32, cont: Vec<u8>) -> v1::ScanRequest {
    v1::ScanRequest {
        shard: 0,
        start: start.to_vec().into(),
        end: end.map(|e| e.to_vec().into()),
        limit,
        consistency: Consistency::Strong as i32,
        continuation: cont.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_scans_and_retries() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;

    // Batch of puts and a delete, applied atomically in order.
    let op = |k: &str, v: Option<&str>| v1::BatchOp {
        op: Some(match v {
            Some(v) => batch_op::Op::Put(v1::BatchPut {
                key: k.as_bytes().to_vec().into(),
                value: v.as_bytes().to_vec().into(),
            }),
            None => batch_op::Op::Delete(v1::BatchDelete {
                key: k.as_bytes().to_vec().into(),
            }),
        }),
    };
    let mut ops: Vec<v1::BatchOp> = (0..10)
        .map(|i| op(&format!("s{i:02}"), Some("x")))
        .collect();
    ops.push(op("s03", None));
    ops.push(op("nothing", None));
    let r = lc
        .batch(v1::BatchRequest {
            shard: 0,
            ops,
            tag: None,
        })
        .await
        .unwrap()
        .into_inner();
    let existed: Vec<bool> = r.results.iter().map(|o| o.existed).collect();
    assert_eq!(&existed[10..], &[true, false]);

    // Paginated scan in key order, [s01, s09).
    let mut keys = Vec::new();
    let mut cont = Vec::new();
    for _ in 0..10 {
        let page = lc
            .scan(scan(b"s01", Some(b"s09"), 3, cont))
            .await
            .unwrap()
            .into_inner();
        assert!(page.pairs.len() <= 3);
        keys.extend(
            page.pairs
                .into_iter()
                .map(|p| String::from_utf8(p.key.to_vec()).unwrap()),
        );
        cont = page.continuation.to_vec();
        if cont.is_empty() {
            break;
        }
    }
    assert_eq!(keys, ["s01", "s02", "s04", "s05", "s06", "s07", "s08"]);

    // Delete says whether the key existed.
    let del = |k: &[u8]| v1::DeleteRequest {
        shard: 0,
        key: k.to_vec().into(),
        tag: None,
    };
    assert!(lc.delete(del(b"s01")).await.unwrap().into_inner().existed);
    assert!(!lc.delete(del(b"s01")).await.unwrap().into_inner().existed);

    // Cas: absent -> v1, wrong expectation fails with the current value.
    let cas = |exp: Option<&[u8]>, new: Option<&[u8]>| v1::CasRequest {
        shard: 0,
        key: b"c".to_vec().into(),
        expected: exp.map(|e| e.to_vec().into()),
        new_value: new.map(|n| n.to_vec().into()),
        tag: None,
    };
    assert!(
        lc.cas(cas(None, Some(b"v1")))
            .await
            .unwrap()
            .into_inner()
            .success
    );
    let r = lc
        .cas(cas(Some(b"nope"), Some(b"v2")))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.success);
    assert_eq!(r.current.as_deref(), Some(&b"v1"[..]));

    // A retried tagged delete is applied once and answered with its first result.
    let tag = Some(v1::WriteTag {
        client_id: 77,
        sequence: 1,
    });
    lc.put(v1::PutRequest {
        tag,
        ..put(b"once", b"1")
    })
    .await
    .unwrap();
    let tag = Some(v1::WriteTag {
        client_id: 77,
        sequence: 2,
    });
    let d = v1::DeleteRequest {
        shard: 0,
        key: b"once".to_vec().into(),
        tag,
    };
    assert!(lc.delete(d.clone()).await.unwrap().into_inner().existed);
    assert!(lc.delete(d).await.unwrap().into_inner().existed);

    // Every node serves the cluster map.
    let map = c
        .doug(1)
        .await
        .cluster_map(v1::ClusterMapRequest::default())
        .await
        .unwrap();
    let map = map.into_inner().map.unwrap();
    assert_eq!(map.cluster_id, c.file.cluster_id);
    assert_eq!(map.nodes.len(), 3);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_cluster_restart_keeps_acknowledged_writes() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    for i in 0..30u32 {
        lc.put(put(format!("r{i}").as_bytes(), b"v")).await.unwrap();
    }
    c.stop_all().await;
    // Same data dirs, same addresses.
    for id in 1..=3u64 {
        c.restart(id).await;
    }
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    for i in 0..30u32 {
        let r = lc
            .get(get(format!("r{i}").as_bytes(), Consistency::Strong))
            .await
            .unwrap();
        assert_eq!(r.into_inner().value.as_deref(), Some(&b"v"[..]), "r{i}");
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_of_another_cluster_is_refused() {
    let c = TestCluster::start(1).await;
    let mut other: ClusterFile = c.file.clone();
    other.cluster_id += 1;
    let l = bind("127.0.0.1:0").await.unwrap();
    let err = RunningNode::start(c.options(1), other, l)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("belongs to cluster"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_over_http() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let c = TestCluster::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = c.options(1);
    opts.data_dir = dir.path().to_path_buf();
    opts.metrics_listen = Some("127.0.0.1:0".into());
    let mut file = c.file.clone();
    let l = bind("127.0.0.1:0").await.unwrap();
    file.nodes[0].address = l.local_addr().unwrap().to_string();
    let node = RunningNode::start(opts, file, l).await.unwrap();
    let addr = node.metrics_addr().unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("dougdb_fsyncs_total{shard=\"0\"}"), "{text}");
    assert!(
        text.contains("dougdb_rpc_calls_total{method=\"put\"}"),
        "{text}"
    );
    node.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_in_use_is_a_clear_error() {
    let l = bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let err = bind(&addr).await.unwrap_err();
    assert!(err.to_string().contains("port in use"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitioned_minority_cannot_write() {
    let mut c = TestCluster::start_with(3, true).await;
    let leader = c.wait_leader().await;
    let others: Vec<u64> = c.live().into_iter().filter(|id| *id != leader).collect();
    let mut admin = c.admin(leader).await.unwrap();
    admin
        .partition(v1::PartitionRequest {
            peers: others.clone(),
        })
        .await
        .unwrap();
    for id in &others {
        let mut a = c.admin(*id).await.unwrap();
        a.partition(v1::PartitionRequest {
            peers: vec![leader],
        })
        .await
        .unwrap();
    }
    // The isolated old leader cannot commit; the majority elects a new leader.
    let mut old = c.doug(leader).await;
    assert!(old.put(put(b"minority", b"x")).await.is_err());
    let new_leader = eventually("a majority leader", Duration::from_secs(10), || {
        let c = &c;
        let others = others.clone();
        async move { c.leader_now().await.filter(|l| others.contains(l)) }
    })
    .await;
    let mut nc = c.doug(new_leader).await;
    nc.put(put(b"majority", b"y")).await.unwrap();
    let r = nc
        .get(get(b"minority", Consistency::Strong))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.value, None);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crashed_follower_restarts_and_catches_up() {
    let mut c = TestCluster::start(3).await;
    let leader = c.wait_leader().await;
    let follower = c.live().into_iter().find(|id| *id != leader).unwrap();
    let mut lc = c.doug(leader).await;
    lc.put(put(b"before", b"1")).await.unwrap();
    c.kill(follower);
    for i in 0..50u32 {
        lc.put(put(format!("behind{i}").as_bytes(), b"v"))
            .await
            .unwrap();
    }
    c.restart(follower).await;
    let fc = c.doug(follower).await;
    for key in [&b"before"[..], b"behind49"] {
        eventually(
            "the restarted follower to catch up",
            Duration::from_secs(10),
            || {
                let mut fc = fc.clone();
                async move {
                    let r = fc.get(get(key, Consistency::Eventual)).await.ok()?;
                    r.into_inner().value.map(|_| ())
                }
            },
        )
        .await;
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follower_far_behind_catches_up_by_snapshot() {
    let shard = ShardEntry {
        id: 0,
        replicas: vec![1, 2, 3],
        joining: vec![],
    };
    let mut c = TestCluster::start_opts(3, vec![shard], false, false, Some(10)).await;
    let leader = c.wait_leader().await;
    let follower = c.live().into_iter().find(|id| *id != leader).unwrap();
    let mut lc = c.doug(leader).await;
    lc.put(put(b"before", b"1")).await.unwrap();
    c.kill(follower);
    for i in 0..60u32 {
        lc.put(put(format!("snap{i}").as_bytes(), b"v"))
            .await
            .unwrap();
    }
    lc.delete(v1::DeleteRequest {
        shard: 0,
        key: b"before".to_vec().into(),
        tag: None,
    })
    .await
    .unwrap();
    // The leader's log no longer holds what the follower misses.
    let mut admin = c.admin(leader).await.unwrap();
    let st = admin
        .status(v1::StatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(st.replicas[0].snapshot_index >= 50, "{:?}", st.replicas[0]);

    c.restart(follower).await;
    let fc = c.doug(follower).await;
    eventually(
        "the follower to install the snapshot",
        Duration::from_secs(10),
        || {
            let mut fc = fc.clone();
            async move {
                let r = fc.get(get(b"snap59", Consistency::Eventual)).await.ok()?;
                r.into_inner().value.map(|_| ())
            }
        },
    )
    .await;
    let mut fc = fc.clone();
    let r = fc
        .get(get(b"before", Consistency::Eventual))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.value, None, "a key deleted before the snapshot came back");
    // And it keeps replicating after the snapshot.
    lc.put(put(b"after-snap", b"1")).await.unwrap();
    eventually(
        "replication after the snapshot",
        Duration::from_secs(10),
        || {
            let mut fc = fc.clone();
            async move {
                let r = fc
                    .get(get(b"after-snap", Consistency::Eventual))
                    .await
                    .ok()?;
                r.into_inner().value.map(|_| ())
            }
        },
    )
    .await;

    // Every node restarts from its snapshot plus log.
    c.stop_all().await;
    for id in 1..=3u64 {
        c.restart(id).await;
    }
    let leader = c.wait_leader().await;
    let mut lc = c.doug(leader).await;
    for key in [&b"snap0"[..], b"snap59", b"after-snap"] {
        let r = lc
            .get(get(key, Consistency::Strong))
            .await
            .unwrap()
            .into_inner();
        assert!(r.value.is_some(), "{key:?} lost across restart");
    }
    c.stop_all().await;
}
