//! The facade: 3 in-process nodes hosting 4 shards, a `dougdb-server facade` process on
//! 127.0.0.1:0, and a `dougdb_client::Client` pinned to the facade (it talks to nothing
//! else): puts, gets, scans across shards, cas, delete, batches; bad input gets
//! InvalidArgument through the facade; SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{TestCluster, eventually};
use dougdb_client::{Client, Consistency, Error};
use dougdb_proto::error_detail::from_status;
use dougdb_proto::v1::doug_client::DougClient;
use dougdb_proto::v1::error_detail::Kind;
use dougdb_proto::v1::{self, batch_op};

const SHARDS: u64 = 4;

/// A facade process, killed if the test ends without stopping it.
struct FacadeProc {
    child: Child,
    addr: String,
}

impl Drop for FacadeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FacadeProc {
    /// Starts `dougdb-server facade` on 127.0.0.1:0 and reads its address from stderr.
    fn start(cluster_file: &std::path::Path) -> FacadeProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dougdb-server"))
            .args(["facade", "--listen", "127.0.0.1:0", "--cluster"])
            .arg(cluster_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads every line (so the pipe never fills) and forwards them to the test.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => match line.strip_prefix("dougdb facade serving on ") {
                    Some(addr) => break addr.to_owned(),
                    None => seen.push(line),
                },
                Err(e) => panic!("the facade did not start ({e}); stderr: {seen:?}"),
            }
        };
        FacadeProc { child, addr }
    }

    /// SIGTERM, then waits (polling, bounded) for a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "facade exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the facade ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:03}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}").into_bytes()
}

fn detail(status: &tonic::Status) -> Option<Kind> {
    from_status(status).unwrap().and_then(|d| d.kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_of_the_facade_alone_reads_and_writes_every_shard() {
    let mut cluster = TestCluster::start_shards(3, SHARDS, false).await;
    for shard in 0..SHARDS {
        cluster.wait_leader_of(shard).await;
    }
    let file = cluster.dir.path().join("cluster.json");
    std::fs::write(&file, serde_json::to_vec(&cluster.file).unwrap()).unwrap();
    let facade = FacadeProc::start(&file);
    let client = Client::pinned(&facade.addr).await.unwrap();
    assert_eq!(client.cluster_map().shards.len(), SHARDS as usize);

    // Puts land on every shard.
    let n = 200;
    for i in 0..n {
        client.put(key(i), value(i)).await.unwrap();
    }
    let mut shards: Vec<u64> = (0..n)
        .map(|i| client.shard_for(key(i)).unwrap().0)
        .collect();
    shards.sort_unstable();
    shards.dedup();
    assert_eq!(
        shards,
        (0..SHARDS).collect::<Vec<_>>(),
        "keys span all shards"
    );

    for i in 0..n {
        let v = client.get(key(i), Consistency::Strong).await.unwrap();
        assert_eq!(v.as_deref(), Some(&value(i)[..]));
    }
    assert_eq!(
        client.get(b"absent", Consistency::Strong).await.unwrap(),
        None
    );
    // Eventual reads may lag: poll until the last write shows.
    eventually(
        "an eventual read of the last put",
        Duration::from_secs(10),
        || {
            let client = client.clone();
            async move {
                let v = client.get(key(n - 1), Consistency::Eventual).await.ok()?;
                (v.as_deref() == Some(&value(n - 1)[..])).then_some(())
            }
        },
    )
    .await;

    // Scans merge the shards in key order.
    let all = client
        .scan(b"", None, None, Consistency::Strong)
        .await
        .unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|i| (key(i), value(i))).collect();
    let got: Vec<(Vec<u8>, Vec<u8>)> = all.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    assert_eq!(got, want);
    let some = client
        .scan(b"key-050", Some(b"key-100"), None, Consistency::Strong)
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = some.iter().map(|(k, _)| k.to_vec()).collect();
    assert_eq!(keys, (50..100).map(key).collect::<Vec<_>>());
    let first = client
        .scan(b"", None, Some(17), Consistency::Eventual)
        .await
        .unwrap();
    assert_eq!(first.len(), 17);
    assert_eq!(first[16].0.as_ref(), &key(16)[..]);

    // Compare-and-set and delete.
    let k = key(7);
    assert!(!client.cas(&k, Some(b"wrong"), Some(b"x")).await.unwrap());
    assert!(client.cas(&k, Some(&value(7)), Some(b"new")).await.unwrap());
    let v = client.get(&k, Consistency::Strong).await.unwrap();
    assert_eq!(v.as_deref(), Some(&b"new"[..]));
    assert!(client.cas(b"fresh", None, Some(b"1")).await.unwrap());
    assert!(!client.cas(b"fresh", None, Some(b"2")).await.unwrap());
    assert!(client.delete(&k).await.unwrap());
    assert!(!client.delete(&k).await.unwrap());
    assert_eq!(client.get(&k, Consistency::Strong).await.unwrap(), None);

    // Multi-key calls: one Batch per shard, each through the facade.
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..40)
        .map(|i| (format!("many-{i:02}").into_bytes(), value(i)))
        .collect();
    client.put_many(pairs.clone()).await.unwrap();
    let keys: Vec<Vec<u8>> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let values = client.get_many(&keys, Consistency::Strong).await.unwrap();
    for ((_, v), got) in pairs.iter().zip(values) {
        assert_eq!(got.as_deref(), Some(&v[..]));
    }

    // Bad input: InvalidArgument, from the node (a key over the limit) through the
    // facade, and from the facade itself (raw gRPC: the client refuses empty keys).
    let err = client.put(vec![b'k'; 5000], b"v").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let mut raw = DougClient::connect(format!("http://{}", facade.addr))
        .await
        .unwrap();
    let put = v1::PutRequest {
        shard: 0,
        key: Vec::new().into(),
        value: b"v".to_vec().into(),
        tag: None,
    };
    let status = raw.put(put).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(matches!(detail(&status), Some(Kind::InvalidArgument(_))));
    let cross = v1::BatchRequest {
        shard: 0,
        ops: (0..n)
            .map(|i| v1::BatchOp {
                op: Some(batch_op::Op::Put(v1::BatchPut {
                    key: key(i).into(),
                    value: b"v".to_vec().into(),
                })),
            })
            .collect(),
        tag: None,
    };
    let status = raw.batch(cross).await.unwrap_err();
    assert!(matches!(detail(&status), Some(Kind::InvalidArgument(_))));
    let scan = v1::ScanRequest {
        shard: SHARDS,
        ..Default::default()
    };
    let status = raw.scan(scan).await.unwrap_err();
    assert!(matches!(detail(&status), Some(Kind::WrongShard(_))));

    facade.stop();
    cluster.stop_all().await;
}
