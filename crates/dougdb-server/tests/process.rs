//! Multi-process: three `dougdb-server node` processes on loopback; `kill -9` of the
//! leader under load loses no acknowledged write; SIGTERM stops a node cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dougdb_proto::error_detail::from_status;
use dougdb_proto::v1::admin_client::AdminClient;
use dougdb_proto::v1::doug_client::DougClient;
use dougdb_proto::v1::error_detail::Kind;
use dougdb_proto::v1::{self, Consistency, Role, StatusRequest};
use dougdb_server::cluster::{ClusterFile, NodeEntry, RoutingEntry, ShardEntry};

struct Procs(Vec<Option<Child>>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in self.0.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

async fn leader_of(addrs: &[String], alive: &[bool]) -> Option<u64> {
    let mut best: Option<(u64, u64)> = None;
    for (i, a) in addrs.iter().enumerate() {
        if !alive[i] {
            continue;
        }
        let Ok(Ok(mut c)) = tokio::time::timeout(
            Duration::from_millis(300),
            AdminClient::connect(format!("http://{a}")),
        )
        .await
        else {
            continue;
        };
        let Ok(s) = c.status(StatusRequest::default()).await else {
            continue;
        };
        for r in s.into_inner().replicas {
            if r.role == Role::Leader as i32 && best.is_none_or(|(t, _)| r.term > t) {
                best = Some((r.term, i as u64 + 1));
            }
        }
    }
    best.map(|(_, id)| id)
}

async fn wait_leader(addrs: &[String], alive: &[bool]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(l) = leader_of(addrs, alive).await {
            return l;
        }
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `w-<n>-<i>` until `stop`, following NotLeader hints; records acknowledged keys.
async fn writer(
    n: u32,
    addrs: Vec<String>,
    acked: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<Mutex<bool>>,
) {
    let mut target = 0usize;
    let mut i = 0u32;
    while !*stop.lock().unwrap() {
        let key = format!("w-{n}-{i}").into_bytes();
        let addr = format!("http://{}", addrs[target]);
        let res = match DougClient::connect(addr).await {
            Ok(mut c) => {
                let req = v1::PutRequest {
                    shard: 0,
                    key: key.clone().into(),
                    value: key.clone().into(),
                    tag: None,
                };
                c.put(req).await.map(|_| ())
            }
            Err(_) => Err(tonic::Status::unavailable("connect")),
        };
        match res {
            Ok(()) => {
                acked.lock().unwrap().push(key);
                i += 1;
            }
            Err(s) => {
                i += 1; // outcome unknown: never reuse the key
                target = match from_status(&s).ok().flatten().and_then(|d| d.kind) {
                    Some(Kind::NotLeader(nl)) => match nl.leader_hint {
                        Some(h) => h.node_id as usize - 1,
                        None => (target + 1) % addrs.len(),
                    },
                    _ => (target + 1) % addrs.len(),
                };
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn acked_len(acked: &Arc<Mutex<Vec<Vec<u8>>>>, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < at_least {
        assert!(
            Instant::now() < deadline,
            "writes stalled at {}",
            acked.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_the_leader_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let addrs: Vec<String> = (0..3).map(|_| free_addr()).collect();
    let file = ClusterFile {
        cluster_id: 4242,
        version: 1,
        nodes: (1..=3)
            .map(|id| NodeEntry {
                id,
                address: addrs[id as usize - 1].clone(),
            })
            .collect(),
        shards: vec![ShardEntry {
            id: 0,
            replicas: vec![1, 2, 3],
            joining: vec![],
        }],
        routing: RoutingEntry {
            name: "hash".into(),
            sha256: String::new(),
            ..Default::default()
        },
        compaction: Default::default(),
    };
    let cluster_path = dir.path().join("cluster.json");
    file.save(&cluster_path).unwrap();
    let mut procs = Procs(Vec::new());
    let spawn = |id: u64| {
        Command::new(env!("CARGO_BIN_EXE_dougdb-server"))
            .args([
                "node",
                "--id",
                &id.to_string(),
                "--listen",
                &addrs[id as usize - 1],
            ])
            .args(["--snapshot-entries", "50"])
            .arg("--data-dir")
            .arg(dir.path().join(format!("node-{id}")))
            .arg("--cluster")
            .arg(&cluster_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for id in 1..=3u64 {
        procs.0.push(Some(spawn(id)));
    }
    let mut alive = vec![true; 3];
    let leader = wait_leader(&addrs, &alive).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(Mutex::new(false));
    let writers: Vec<_> = (0..4)
        .map(|n| {
            tokio::spawn(writer(
                n,
                addrs.clone(),
                Arc::clone(&acked),
                Arc::clone(&stop),
            ))
        })
        .collect();
    acked_len(&acked, 100).await;
    let mut victim = procs.0[leader as usize - 1].take().unwrap();
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    alive[leader as usize - 1] = false;
    let before = acked.lock().unwrap().len();
    acked_len(&acked, before + 100).await;
    *stop.lock().unwrap() = true;
    for w in writers {
        w.await.unwrap();
    }

    let new_leader = wait_leader(&addrs, &alive).await;
    assert_ne!(new_leader, leader);
    let mut c = DougClient::connect(format!("http://{}", addrs[new_leader as usize - 1]))
        .await
        .unwrap();
    let keys = acked.lock().unwrap().clone();
    for k in &keys {
        let req = v1::GetRequest {
            shard: 0,
            key: k.clone().into(),
            consistency: Consistency::Strong as i32,
        };
        let v = c.get(req).await.unwrap().into_inner().value;
        assert_eq!(
            v.as_deref(),
            Some(k.as_slice()),
            "acknowledged key {:?} lost",
            String::from_utf8_lossy(k)
        );
    }

    // The killed node comes back and catches up (by snapshot: the log was compacted).
    procs.0[leader as usize - 1] = Some(spawn(leader));
    let last = keys.last().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let addr = format!("http://{}", addrs[leader as usize - 1]);
        if let Ok(mut c) = DougClient::connect(addr).await {
            let req = v1::GetRequest {
                shard: 0,
                key: last.clone().into(),
                consistency: Consistency::Eventual as i32,
            };
            if let Ok(r) = c.get(req).await
                && r.into_inner().value.is_some()
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the restarted node did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGTERM: every node stops cleanly.
    for child in procs.0.iter_mut() {
        if let Some(mut ch) = child.take() {
            let pid = ch.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            let status = loop {
                if let Some(s) = ch.try_wait().unwrap() {
                    break s;
                }
                assert!(Instant::now() < deadline, "node {pid} ignored SIGTERM");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert!(status.success(), "node {pid} exited with {status}");
        }
    }
}
