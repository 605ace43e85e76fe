//! `dougdb.v1.Doug` on a node: writes are proposed to the shard's Raft group and answered
//! after apply; strong reads run a ReadIndex round first, eventual reads read the local
//! replica. Scan pages are key-ordered with an opaque continuation (the next start key).

use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use dougdb_proto::v1::doug_server::Doug;
use dougdb_proto::v1::{self, batch_op};
use tonic::{Request, Response, Status};

use super::status_of;
use crate::error::{Error, Result};
use crate::node::{Node, ReplicaHandle};
use crate::state_machine::{BatchOp, Command, INTERNAL_KEY_PREFIX, Op, Outcome, WriteTag};

/// Pairs in a scan page when the request says 0.
pub const SCAN_PAGE_DEFAULT: usize = 1000;
/// A scan page stops growing past this many bytes.
pub const SCAN_PAGE_BYTES_MAX: usize = 4 << 20;

/// The Doug service of one node.
#[derive(Debug, Clone)]
pub struct DougService {
    node: Arc<Node>,
}

fn tag(t: Option<v1::WriteTag>) -> WriteTag {
    t.map(|t| WriteTag {
        client_id: t.client_id,
        sequence: t.sequence,
    })
    .unwrap_or_default()
}

fn strong(c: i32) -> bool {
    c != v1::Consistency::Eventual as i32
}

fn unexpected(o: &Outcome) -> Error {
    Error::Unavailable {
        reason: format!("unexpected outcome {o:?}"),
    }
}

impl DougService {
    /// A service over `node`.
    pub fn new(node: Arc<Node>) -> DougService {
        DougService { node }
    }

    fn err(&self, e: &Error) -> Status {
        status_of(&self.node, e)
    }

    async fn write(&self, shard: u64, op: Op, t: Option<v1::WriteTag>) -> Result<(u64, Outcome)> {
        let cmd = Command { tag: tag(t), op };
        let r = self.node.replica(shard)?;
        r.propose(&cmd, self.node.request_timeout).await
    }

    async fn read_replica(&self, shard: u64, consistency: i32) -> Result<&ReplicaHandle> {
        let r = self.node.replica(shard)?;
        if strong(consistency) {
            r.read_index(self.node.request_timeout).await?;
        }
        Ok(r)
    }

    async fn scan_page(&self, req: v1::ScanRequest) -> Result<v1::ScanResponse> {
        let r = self.read_replica(req.shard, req.consistency).await?;
        let start: Vec<u8> = if req.continuation.is_empty() {
            req.start.to_vec()
        } else {
            req.continuation.to_vec()
        };
        let limit = match req.limit {
            0 => SCAN_PAGE_DEFAULT,
            n => n as usize,
        };
        let upper = match &req.end {
            Some(e) => Bound::Excluded(e.as_ref()),
            None => Bound::Unbounded,
        };
        let iter = r
            .state_machine()
            .read()
            .db()
            .scan_bounds(Bound::Included(start.as_slice()), upper)?;
        let mut pairs = Vec::new();
        let mut bytes = 0usize;
        let mut continuation = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if key.starts_with(INTERNAL_KEY_PREFIX) {
                continue;
            }
            if pairs.len() >= limit || bytes >= SCAN_PAGE_BYTES_MAX {
                continuation = key;
                break;
            }
            bytes += key.len() + value.len();
            pairs.push(v1::KeyValue {
                key: key.into(),
                value: value.into(),
            });
        }
        Ok(v1::ScanResponse {
            pairs,
            continuation: continuation.into(),
        })
    }

    fn cluster_map(&self, include_wasm: bool) -> v1::ClusterMap {
        let c = self.node.cluster.get();
        let routing = &self.node.routing;
        v1::ClusterMap {
            cluster_id: c.cluster_id,
            version: c.version,
            nodes: c
                .nodes
                .iter()
                .map(|n| v1::NodeInfo {
                    id: n.id,
                    address: n.address.clone(),
                })
                .collect(),
            shards: c
                .shards
                .iter()
                .map(|s| match self.node.replicas.get(&s.id) {
                    // Hosted: the membership this replica has applied.
                    Some(r) => {
                        let conf = r.conf_state();
                        v1::ShardInfo {
                            id: s.id,
                            voters: conf.voters.iter().map(|n| n.0).collect(),
                            learners: conf.learners.iter().map(|n| n.0).collect(),
                            leader_hint: r.leader(),
                        }
                    }
                    None => v1::ShardInfo {
                        id: s.id,
                        voters: s.replicas.clone(),
                        learners: Vec::new(),
                        leader_hint: None,
                    },
                })
                .collect(),
            routing: Some(v1::RoutingPlugin {
                name: routing.name.clone(),
                sha256: routing
                    .sha256
                    .map(|d| d.to_vec())
                    .unwrap_or_default()
                    .into(),
                wasm: routing
                    .wasm
                    .as_ref()
                    .filter(|_| include_wasm)
                    .map(|w| bytes::Bytes::copy_from_slice(w)),
                config: routing.config.clone().into(),
            }),
        }
    }
}

/// The methods' bodies; the trait impl below times them.
impl DougService {
    async fn get_rpc(
        &self,
        req: Request<v1::GetRequest>,
    ) -> Result<Response<v1::GetResponse>, Status> {
        let req = req.into_inner();
        let r = self
            .read_replica(req.shard, req.consistency)
            .await
            .map_err(|e| self.err(&e))?;
        let value = r
            .state_machine()
            .read()
            .get(&req.key)
            .map_err(|e| self.err(&e))?;
        Ok(Response::new(v1::GetResponse {
            value: value.map(Into::into),
        }))
    }

    async fn put_rpc(
        &self,
        req: Request<v1::PutRequest>,
    ) -> Result<Response<v1::PutResponse>, Status> {
        let req = req.into_inner();
        let op = Op::Put {
            key: req.key.to_vec(),
            value: req.value.to_vec(),
        };
        let (index, _) = self
            .write(req.shard, op, req.tag)
            .await
            .map_err(|e| self.err(&e))?;
        Ok(Response::new(v1::PutResponse { index }))
    }

    async fn delete_rpc(
        &self,
        req: Request<v1::DeleteRequest>,
    ) -> Result<Response<v1::DeleteResponse>, Status> {
        let req = req.into_inner();
        let op = Op::Delete {
            key: req.key.to_vec(),
        };
        let (index, o) = self
            .write(req.shard, op, req.tag)
            .await
            .map_err(|e| self.err(&e))?;
        match o {
            Outcome::Delete { existed } => Ok(Response::new(v1::DeleteResponse { existed, index })),
            o => Err(self.err(&unexpected(&o))),
        }
    }

    async fn cas_rpc(
        &self,
        req: Request<v1::CasRequest>,
    ) -> Result<Response<v1::CasResponse>, Status> {
        let req = req.into_inner();
        let op = Op::Cas {
            key: req.key.to_vec(),
            expected: req.expected.map(|b| b.to_vec()),
            new_value: req.new_value.map(|b| b.to_vec()),
        };
        let (index, o) = self
            .write(req.shard, op, req.tag)
            .await
            .map_err(|e| self.err(&e))?;
        match o {
            Outcome::Cas { success, current } => Ok(Response::new(v1::CasResponse {
                success,
                current: current.map(Into::into),
                index,
            })),
            o => Err(self.err(&unexpected(&o))),
        }
    }

    async fn scan_rpc(
        &self,
        req: Request<v1::ScanRequest>,
    ) -> Result<Response<v1::ScanResponse>, Status> {
        self.scan_page(req.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| self.err(&e))
    }

    async fn batch_rpc(
        &self,
        req: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::BatchResponse>, Status> {
        let req = req.into_inner();
        let mut ops = Vec::with_capacity(req.ops.len());
        for op in req.ops {
            ops.push(match op.op {
                Some(batch_op::Op::Put(p)) => BatchOp::Put {
                    key: p.key.to_vec(),
                    value: p.value.to_vec(),
                },
                Some(batch_op::Op::Delete(d)) => BatchOp::Delete {
                    key: d.key.to_vec(),
                },
                None => {
                    let e = Error::InvalidArgument {
                        reason: "batch op without put or delete".into(),
                    };
                    return Err(self.err(&e));
                }
            });
        }
        let (index, o) = self
            .write(req.shard, Op::Batch(ops), req.tag)
            .await
            .map_err(|e| self.err(&e))?;
        match o {
            Outcome::Batch { existed } => Ok(Response::new(v1::BatchResponse {
                results: existed
                    .into_iter()
                    .map(|existed| v1::BatchOpResult { existed })
                    .collect(),
                index,
            })),
            o => Err(self.err(&unexpected(&o))),
        }
    }

    async fn cluster_map_rpc(
        &self,
        req: Request<v1::ClusterMapRequest>,
    ) -> Result<Response<v1::ClusterMapResponse>, Status> {
        let map = self.cluster_map(req.into_inner().include_routing_plugin);
        Ok(Response::new(v1::ClusterMapResponse { map: Some(map) }))
    }
}

#[tonic::async_trait]
impl Doug for DougService {
    async fn get(&self, req: Request<v1::GetRequest>) -> Result<Response<v1::GetResponse>, Status> {
        let start = Instant::now();
        let r = self.get_rpc(req).await;
        self.node.metrics.rpc(0, start.elapsed(), r.is_ok());
        r
    }

    async fn put(&self, req: Request<v1::PutRequest>) -> Result<Response<v1::PutResponse>, Status> {
        let start = Instant::now();
        let r = self.put_rpc(req).await;
        self.node.metrics.rpc(1, start.elapsed(), r.is_ok());
        r
    }

    async fn delete(
        &self,
        req: Request<v1::DeleteRequest>,
    ) -> Result<Response<v1::DeleteResponse>, Status> {
        let start = Instant::now();
        let r = self.delete_rpc(req).await;
        self.node.metrics.rpc(2, start.elapsed(), r.is_ok());
        r
    }

    async fn cas(&self, req: Request<v1::CasRequest>) -> Result<Response<v1::CasResponse>, Status> {
        let start = Instant::now();
        let r = self.cas_rpc(req).await;
        self.node.metrics.rpc(3, start.elapsed(), r.is_ok());
        r
    }

    async fn scan(
        &self,
        req: Request<v1::ScanRequest>,
    ) -> Result<Response<v1::ScanResponse>, Status> {
        let start = Instant::now();
        let r = self.scan_rpc(req).await;
        self.node.metrics.rpc(4, start.elapsed(), r.is_ok());
        r
    }

    async fn batch(
        &self,
        req: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::BatchResponse>, Status> {
        let start = Instant::now();
        let r = self.batch_rpc(req).await;
        self.node.metrics.rpc(5, start.elapsed(), r.is_ok());
        r
    }

    async fn cluster_map(
        &self,
        req: Request<v1::ClusterMapRequest>,
    ) -> Result<Response<v1::ClusterMapResponse>, Status> {
        let start = Instant::now();
        let r = self.cluster_map_rpc(req).await;
        self.node.metrics.rpc(6, start.elapsed(), r.is_ok());
        r
    }
}
