//! Mock Doug nodes for the client's tests: real tonic servers on 127.0.0.1:0 sharing one
//! tiny in-memory model (a replicated store without the replication). Each node can be told
//! to lead or follow a shard, to fail its next N calls, to lose answers after applying,
//! to be slow, or not to host a shard; every call is logged for assertions.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed setup should panic

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use dougdb_proto::error_detail::to_status;
use dougdb_proto::v1::doug_server::{Doug, DougServer};
use dougdb_proto::v1::*;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// One logged call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub node: u64,
    pub method: &'static str,
    pub shard: u64,
    pub key: Bytes,
    pub tag: Option<(u64, u64)>,
    pub strong: bool,
}

/// How one node misbehaves.
#[derive(Debug, Default, Clone)]
pub struct Behaviour {
    /// Answer the next N calls with an `Unavailable` detail.
    pub fail_unavailable: u32,
    /// Apply the next N writes, then answer with a bare UNAVAILABLE (answer lost).
    pub lose_after_apply: u32,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Shards this node answers WrongShard for.
    pub not_hosting: HashSet<u64>,
    /// Put the leader's address in NotLeader hints (else only its id).
    pub hint_without_address: bool,
}

/// The shared state of all mock nodes.
#[derive(Debug, Default)]
pub struct Model {
    pub shards: Vec<BTreeMap<Bytes, Bytes>>,
    pub leaders: Vec<Option<u64>>,
    /// Voters per shard (every node when empty).
    pub replicas: Vec<Vec<u64>>,
    pub nodes: Vec<(u64, String)>,
    pub routing: RoutingPlugin,
    pub behaviour: HashMap<u64, Behaviour>,
    /// Per (shard, client id): last sequence applied and its encoded answer.
    pub sessions: HashMap<(u64, u64), (u64, Vec<u8>)>,
    pub applied: u64,
    pub page_size: usize,
    pub calls: Vec<Call>,
    pub map_version: u64,
}

/// A running mock cluster.
#[derive(Debug, Clone)]
pub struct Mock {
    pub model: Arc<Mutex<Model>>,
    pub addresses: Vec<String>,
}

impl Mock {
    /// `nodes` nodes (ids 1..=nodes) hosting `shards` shards, node 1 leading all, the
    /// built-in hash router.
    pub async fn start(nodes: u64, shards: usize) -> Mock {
        let mut listeners = Vec::new();
        let mut addresses = Vec::new();
        for _ in 0..nodes {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addresses.push(listener.local_addr().unwrap().to_string());
            listeners.push(listener);
        }
        let model = Model {
            shards: vec![BTreeMap::new(); shards],
            leaders: vec![Some(1); shards],
            replicas: vec![Vec::new(); shards],
            nodes: (1..=nodes).zip(addresses.iter().cloned()).collect(),
            routing: RoutingPlugin {
                name: "hash-router".into(),
                sha256: Bytes::from(vec![7u8; 32]),
                wasm: None,
                config: Bytes::new(),
            },
            page_size: 1000,
            ..Model::default()
        };
        let model = Arc::new(Mutex::new(model));
        for (id, listener) in (1..=nodes).zip(listeners) {
            let node = Node {
                id,
                model: model.clone(),
            };
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(DougServer::new(node))
                    .serve_with_incoming(TcpListenerStream::new(listener)),
            );
        }
        Mock { model, addresses }
    }

    pub fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap()
    }

    pub fn behave(&self, node: u64, f: impl FnOnce(&mut Behaviour)) {
        f(self.lock().behaviour.entry(node).or_default());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn endpoints(&self) -> Vec<&str> {
        self.addresses.iter().map(String::as_str).collect()
    }
}

struct Node {
    id: u64,
    model: Arc<Mutex<Model>>,
}

/// What a request needs from the node it reached.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Leader,
    AnyReplica,
}

impl Node {
    /// Logs the call, applies the node's behaviour, and checks shard and leadership.
    /// `Ok(lose)`: go ahead, and lose the answer afterwards if `lose`.
    async fn admit(&self, call: Call, need: Need) -> Result<bool, Status> {
        let delay = {
            let mut m = self.model.lock().unwrap();
            m.calls.push(call.clone());
            m.behaviour.entry(self.id).or_default().delay
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut m = self.model.lock().unwrap();
        let leader = m.leaders[call.shard as usize];
        let nodes = m.nodes.clone();
        let b = m.behaviour.entry(self.id).or_default();
        if b.fail_unavailable > 0 {
            b.fail_unavailable -= 1;
            return Err(to_status(&ErrorDetail::unavailable("mock: no quorum"), "x"));
        }
        if b.not_hosting.contains(&call.shard) {
            return Err(to_status(&ErrorDetail::wrong_shard(call.shard), "x"));
        }
        if need == Need::Leader && leader != Some(self.id) {
            let hint = leader.map(|l| {
                let address = nodes.iter().find(|(id, _)| *id == l).unwrap().1.clone();
                (
                    l,
                    if b.hint_without_address {
                        String::new()
                    } else {
                        address
                    },
                )
            });
            return Err(to_status(&ErrorDetail::not_leader(call.shard, hint), "x"));
        }
        let write = call.tag.is_some();
        let lose = write && b.lose_after_apply > 0;
        if lose {
            b.lose_after_apply -= 1;
        }
        Ok(lose)
    }

    /// Applies a tagged write once per (shard, client id, sequence); `apply` returns the
    /// encoded answer that retries get back.
    fn once(
        &self,
        shard: u64,
        tag: Option<WriteTag>,
        lose: bool,
        apply: impl FnOnce(&mut BTreeMap<Bytes, Bytes>) -> Vec<u8>,
    ) -> Result<Vec<u8>, Status> {
        let mut m = self.model.lock().unwrap();
        let tag = tag.filter(|t| t.client_id != 0);
        let answer = match tag.and_then(|t| m.sessions.get(&(shard, t.client_id)).cloned()) {
            Some((seq, answer)) if Some(seq) == tag.map(|t| t.sequence) => answer,
            _ => {
                m.applied += 1;
                let answer = apply(&mut m.shards[shard as usize]);
                if let Some(t) = tag {
                    m.sessions
                        .insert((shard, t.client_id), (t.sequence, answer.clone()));
                }
                answer
            }
        };
        if lose {
            return Err(Status::unavailable("mock: connection lost after apply"));
        }
        Ok(answer)
    }
}

fn call(node: u64, method: &'static str, shard: u64, key: &Bytes, tag: Option<WriteTag>) -> Call {
    Call {
        node,
        method,
        shard,
        key: key.clone(),
        tag: tag.map(|t| (t.client_id, t.sequence)),
        strong: false,
    }
}

fn need_for(consistency: i32) -> Need {
    if consistency == Consistency::Eventual as i32 {
        Need::AnyReplica
    } else {
        Need::Leader
    }
}

#[tonic::async_trait]
impl Doug for Node {
    async fn get(&self, r: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let r = r.into_inner();
        let need = need_for(r.consistency);
        let mut c = call(self.id, "get", r.shard, &r.key, None);
        c.strong = need == Need::Leader;
        self.admit(c, need).await?;
        let m = self.model.lock().unwrap();
        let value = m.shards[r.shard as usize].get(&r.key).cloned();
        Ok(Response::new(GetResponse { value }))
    }

    async fn put(&self, r: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let r = r.into_inner();
        let lose = self
            .admit(call(self.id, "put", r.shard, &r.key, r.tag), Need::Leader)
            .await?;
        self.once(r.shard, r.tag, lose, |data| {
            data.insert(r.key.clone(), r.value.clone());
            Vec::new()
        })?;
        Ok(Response::new(PutResponse { index: 1 }))
    }

    async fn delete(&self, r: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        let r = r.into_inner();
        let lose = self
            .admit(
                call(self.id, "delete", r.shard, &r.key, r.tag),
                Need::Leader,
            )
            .await?;
        let answer = self.once(r.shard, r.tag, lose, |data| {
            vec![u8::from(data.remove(&r.key).is_some())]
        })?;
        Ok(Response::new(DeleteResponse {
            existed: answer == [1],
            index: 1,
        }))
    }

    async fn cas(&self, r: Request<CasRequest>) -> Result<Response<CasResponse>, Status> {
        let r = r.into_inner();
        let lose = self
            .admit(call(self.id, "cas", r.shard, &r.key, r.tag), Need::Leader)
            .await?;
        let answer = self.once(r.shard, r.tag, lose, |data| {
            if data.get(&r.key) != r.expected.as_ref() {
                return vec![0];
            }
            match &r.new_value {
                Some(v) => data.insert(r.key.clone(), v.clone()),
                None => data.remove(&r.key),
            };
            vec![1]
        })?;
        Ok(Response::new(CasResponse {
            success: answer == [1],
            current: None,
            index: 1,
        }))
    }

    async fn scan(&self, r: Request<ScanRequest>) -> Result<Response<ScanResponse>, Status> {
        let r = r.into_inner();
        self.admit(
            call(self.id, "scan", r.shard, &r.start, None),
            need_for(r.consistency),
        )
        .await?;
        let m = self.model.lock().unwrap();
        let page = if r.limit == 0 {
            m.page_size
        } else {
            (r.limit as usize).min(m.page_size)
        };
        let after = (!r.continuation.is_empty()).then(|| r.continuation.clone());
        let mut pairs: Vec<KeyValue> = m.shards[r.shard as usize]
            .range(r.start.clone()..)
            .filter(|(k, _)| after.as_ref().is_none_or(|a| *k > a))
            .take_while(|(k, _)| r.end.as_ref().is_none_or(|e| *k < e))
            .take(page + 1)
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let more = pairs.len() > page;
        pairs.truncate(page);
        let continuation = match (more, pairs.last()) {
            (true, Some(last)) => last.key.clone(),
            _ => Bytes::new(),
        };
        Ok(Response::new(ScanResponse {
            pairs,
            continuation,
        }))
    }

    async fn batch(&self, r: Request<BatchRequest>) -> Result<Response<BatchResponse>, Status> {
        let r = r.into_inner();
        let first = match r.ops.first().and_then(|o| o.op.as_ref()) {
            Some(batch_op::Op::Put(p)) => p.key.clone(),
            _ => Bytes::new(),
        };
        let lose = self
            .admit(call(self.id, "batch", r.shard, &first, r.tag), Need::Leader)
            .await?;
        let ops = r.ops.clone();
        self.once(r.shard, r.tag, lose, |data| {
            for op in ops {
                if let Some(batch_op::Op::Put(p)) = op.op {
                    data.insert(p.key, p.value);
                }
            }
            Vec::new()
        })?;
        let results = vec![BatchOpResult { existed: false }; r.ops.len()];
        Ok(Response::new(BatchResponse { results, index: 1 }))
    }

    async fn cluster_map(
        &self,
        r: Request<ClusterMapRequest>,
    ) -> Result<Response<ClusterMapResponse>, Status> {
        let include = r.into_inner().include_routing_plugin;
        let m = self.model.lock().unwrap();
        let all: Vec<u64> = m.nodes.iter().map(|(id, _)| *id).collect();
        let shards = (0..m.shards.len())
            .map(|s| ShardInfo {
                id: s as u64,
                voters: if m.replicas[s].is_empty() {
                    all.clone()
                } else {
                    m.replicas[s].clone()
                },
                learners: Vec::new(),
                leader_hint: m.leaders[s],
            })
            .collect();
        let mut routing = m.routing.clone();
        if !include {
            routing.wasm = None;
        }
        let map = ClusterMap {
            cluster_id: 42,
            version: m.map_version,
            nodes: m
                .nodes
                .iter()
                .map(|(id, address)| NodeInfo {
                    id: *id,
                    address: address.clone(),
                })
                .collect(),
            shards,
            routing: Some(routing),
        };
        Ok(Response::new(ClusterMapResponse { map: Some(map) }))
    }
}
