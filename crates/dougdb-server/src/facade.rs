//! The facade (`dougdb-server facade --listen ADDR --cluster FILE`): a stateless process
//! serving `dougdb.v1.Doug` on top of one shared [`dougdb_client::Client`], which routes
//! every call to the right shard leader, follows NotLeader hints and retries within the
//! call's deadline. To its callers the facade looks like a node that hosts and leads
//! every shard: connect with a pinned client (`Client::pinned(facade)`).
//!
//! - Single-key calls route by key (the request's `shard` is advisory).
//! - `Scan` answers the page of the shard the request names, cut from a cross-shard scan
//!   merged by the client; its continuation is the next start key, like a node's.
//! - `Batch` takes puts whose keys all route to one shard (one atomic batch there);
//!   deletes in a batch are not supported yet (`UNIMPLEMENTED`).
//! - Errors are translated back into statuses with the typed `ErrorDetail`
//!   (`dougdb_proto::error_detail::to_status`); a client timeout is `DEADLINE_EXCEEDED`.
//! - A call runs under the caller's `grpc-timeout` (a little less, to answer in time),
//!   capped by the facade's `--timeout-ms`.
//! - Responses carry no Raft `index` (0): the client does not expose it. Writes are
//!   tagged by the facade's own client, so a write the caller retries through the facade
//!   may apply twice (the caller's tag is not forwarded yet).

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use dougdb_client::{Client, Consistency, Error as ClientError, ShardId};
use dougdb_proto::error_detail::to_status;
use dougdb_proto::v1::doug_server::{Doug, DougServer};
use dougdb_proto::v1::{self, ErrorDetail, batch_op};
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// Pairs in a scan page when the request says 0 (as a node).
const SCAN_PAGE_DEFAULT: usize = 1000;
/// A scan page stops growing past this many bytes (as a node).
const SCAN_PAGE_BYTES_MAX: usize = 4 << 20;
/// Most pairs one facade scan page reads across all shards.
const SCAN_FETCH_MAX: usize = 4096;
/// Largest gRPC message received or sent (as the client's default).
const MESSAGE_BYTES_MAX: usize = 16 << 20;
/// Longest wait for a fresh cluster map before serving the cached one.
const MAP_REFRESH_TIMEOUT: Duration = Duration::from_millis(500);

/// The `Doug` service of a facade.
#[derive(Debug, Clone)]
pub struct Facade {
    client: Client,
}

impl Facade {
    /// A facade over `client`, whose timeout caps every call.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client handle for one call: the caller's deadline, less a margin, capped.
    fn client_for<T>(&self, req: &Request<T>) -> Client {
        match grpc_timeout(req) {
            Some(t) => {
                let t = t.saturating_sub(t / 20).min(self.client.timeout());
                self.client.with_timeout(t)
            }
            None => self.client.clone(),
        }
    }

    fn map(&self) -> v1::ClusterMap {
        let map = self.client.cluster_map();
        v1::ClusterMap {
            cluster_id: map.cluster_id,
            version: map.version,
            nodes: map
                .nodes
                .iter()
                .map(|(id, address)| v1::NodeInfo {
                    id: id.0,
                    address: address.clone(),
                })
                .collect(),
            shards: map
                .shards
                .iter()
                .map(|s| v1::ShardInfo {
                    id: s.id.0,
                    voters: s.voters.iter().map(|n| n.0).collect(),
                    learners: s.learners.iter().map(|n| n.0).collect(),
                    leader_hint: self.client.cached_leader(s.id).map(|n| n.0),
                })
                .collect(),
            routing: Some(v1::RoutingPlugin {
                name: map.routing.name.clone(),
                sha256: map
                    .routing
                    .sha256
                    .map(|d| Bytes::copy_from_slice(&d))
                    .unwrap_or_default(),
                wasm: None,
                config: map.routing.config.clone().into(),
            }),
        }
    }

    /// One page of `req.shard`'s pairs, cut from a merged cross-shard scan.
    async fn scan_page(&self, client: &Client, req: v1::ScanRequest) -> Result<v1::ScanResponse> {
        let shard_count = client.cluster_map().shard_count();
        if req.shard >= u64::from(shard_count) {
            let detail = ErrorDetail::wrong_shard(req.shard);
            let msg = format!("shard {} does not exist ({shard_count} shards)", req.shard);
            return Err(Failed::Status(to_status(&detail, msg)));
        }
        let start = if req.continuation.is_empty() {
            req.start
        } else {
            req.continuation
        };
        let limit = match req.limit {
            0 => SCAN_PAGE_DEFAULT,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let fetch = limit
            .saturating_mul(shard_count as usize)
            .clamp(1, SCAN_FETCH_MAX);
        let fetched = client
            .scan(
                &start,
                req.end.as_deref(),
                Some(fetch),
                consistency(req.consistency),
            )
            .await?;
        let mut pairs = Vec::new();
        let mut bytes = 0usize;
        for (key, value) in &fetched {
            if client.shard_for(key)?.0 != req.shard {
                continue;
            }
            if pairs.len() >= limit || bytes >= SCAN_PAGE_BYTES_MAX {
                return Ok(v1::ScanResponse {
                    pairs,
                    continuation: key.clone(),
                });
            }
            bytes += key.len() + value.len();
            pairs.push(v1::KeyValue {
                key: key.clone(),
                value: value.clone(),
            });
        }
        // A full fetch may have stopped short of the range's end: go on after its last
        // key (its successor: the key with a 0 byte appended).
        let continuation = match fetched.last() {
            Some((last, _)) if fetched.len() >= fetch => {
                let mut next = last.to_vec();
                next.push(0);
                Bytes::from(next)
            }
            _ => Bytes::new(),
        };
        Ok(v1::ScanResponse {
            pairs,
            continuation,
        })
    }

    async fn batch_puts(&self, client: &Client, req: v1::BatchRequest) -> Result<usize> {
        let mut pairs = Vec::with_capacity(req.ops.len());
        for op in req.ops {
            match op.op {
                Some(batch_op::Op::Put(p)) => pairs.push((p.key, p.value)),
                Some(batch_op::Op::Delete(_)) => {
                    return Err(Failed::Status(Status::unimplemented(
                        "the facade serves Batch with puts only; send deletes one by one \
                         or to a node",
                    )));
                }
                None => return Err(invalid("batch op without put or delete")),
            }
        }
        let keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| k.as_ref()).collect();
        let mut shards = Vec::new();
        for key in &keys {
            if key.is_empty() {
                return Err(invalid("the key is empty; keys are 1 or more bytes"));
            }
            let shard = client.shard_for(key)?;
            if !shards.contains(&shard) {
                shards.push(shard);
            }
        }
        if shards.len() > 1 {
            let names: Vec<String> = shards.iter().map(ShardId::to_string).collect();
            return Err(invalid(format!(
                "a Batch is applied atomically on one shard, but its keys route to shards \
                 {}: split it by shard",
                names.join(", ")
            )));
        }
        let n = pairs.len();
        client.put_many(pairs).await?;
        Ok(n)
    }
}

/// Why a facade call failed: a client error, or a status made here.
#[derive(Debug)]
enum Failed {
    Client(ClientError),
    Status(Status),
}

impl From<ClientError> for Failed {
    fn from(e: ClientError) -> Self {
        Failed::Client(e)
    }
}

type Result<T> = std::result::Result<T, Failed>;

fn invalid(reason: impl Into<String>) -> Failed {
    let reason = reason.into();
    Failed::Status(to_status(
        &ErrorDetail::invalid_argument(reason.clone()),
        reason,
    ))
}

fn consistency(c: i32) -> Consistency {
    if c == v1::Consistency::Eventual as i32 {
        Consistency::Eventual
    } else {
        Consistency::Strong
    }
}

/// The status a caller gets for a client error, with the typed detail it acts on.
pub fn status_of(client: &Client, e: &ClientError) -> Status {
    let message = e.to_string();
    let detail = match e {
        ClientError::InvalidArgument { reason } => ErrorDetail::invalid_argument(reason.clone()),
        ClientError::Unavailable { .. } | ClientError::Connection { .. } => {
            ErrorDetail::unavailable(message.clone())
        }
        ClientError::NotLeader { shard, leader_hint } => {
            let map = client.cluster_map();
            let hint = leader_hint.map(|n| (n.0, map.address(n).unwrap_or_default().to_owned()));
            ErrorDetail::not_leader(shard.0, hint)
        }
        ClientError::Timeout { .. } => return Status::deadline_exceeded(message),
        ClientError::Corruption { .. } => return Status::data_loss(message),
        ClientError::Plugin { .. }
        | ClientError::PluginDigestMismatch { .. }
        | ClientError::Protocol { .. } => return Status::internal(message),
    };
    to_status(&detail, message)
}

fn answer<T>(client: &Client, r: Result<T>) -> std::result::Result<Response<T>, Status> {
    match r {
        Ok(v) => Ok(Response::new(v)),
        Err(Failed::Client(e)) => Err(status_of(client, &e)),
        Err(Failed::Status(s)) => Err(s),
    }
}

/// The caller's deadline from the `grpc-timeout` header (`<digits><H|M|S|m|u|n>`).
fn grpc_timeout<T>(req: &Request<T>) -> Option<Duration> {
    let value = req.metadata().get("grpc-timeout")?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = (value.get(..split)?, value.get(split..)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

type Answer<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl Doug for Facade {
    async fn get(&self, req: Request<v1::GetRequest>) -> Answer<v1::GetResponse> {
        let client = self.client_for(&req);
        let req = req.into_inner();
        let value = client.get(&req.key, consistency(req.consistency)).await;
        answer(
            &client,
            value
                .map(|value| v1::GetResponse { value })
                .map_err(Into::into),
        )
    }

    async fn put(&self, req: Request<v1::PutRequest>) -> Answer<v1::PutResponse> {
        let client = self.client_for(&req);
        let req = req.into_inner();
        let r = client.put(&req.key, &req.value).await;
        answer(
            &client,
            r.map(|()| v1::PutResponse { index: 0 }).map_err(Into::into),
        )
    }

    async fn delete(&self, req: Request<v1::DeleteRequest>) -> Answer<v1::DeleteResponse> {
        let client = self.client_for(&req);
        let req = req.into_inner();
        let r = client.delete(&req.key).await;
        let r = r.map(|existed| v1::DeleteResponse { existed, index: 0 });
        answer(&client, r.map_err(Into::into))
    }

    async fn cas(&self, req: Request<v1::CasRequest>) -> Answer<v1::CasResponse> {
        let client = self.client_for(&req);
        let req = req.into_inner();
        let r = async {
            let success = client
                .cas(&req.key, req.expected.as_deref(), req.new_value.as_deref())
                .await?;
            // On success the value is the new one; on failure, read it back (strong, so
            // it is at least as new as the mismatch).
            let current = match success {
                true => req.new_value.clone(),
                false => client.get(&req.key, Consistency::Strong).await?,
            };
            Ok(v1::CasResponse {
                success,
                current,
                index: 0,
            })
        };
        answer(&client, r.await)
    }

    async fn scan(&self, req: Request<v1::ScanRequest>) -> Answer<v1::ScanResponse> {
        let client = self.client_for(&req);
        let r = self.scan_page(&client, req.into_inner()).await;
        answer(&client, r)
    }

    async fn batch(&self, req: Request<v1::BatchRequest>) -> Answer<v1::BatchResponse> {
        let client = self.client_for(&req);
        let r = self.batch_puts(&client, req.into_inner()).await;
        let r = r.map(|n| v1::BatchResponse {
            results: vec![v1::BatchOpResult { existed: false }; n],
            index: 0,
        });
        answer(&client, r)
    }

    async fn cluster_map(
        &self,
        _req: Request<v1::ClusterMapRequest>,
    ) -> Answer<v1::ClusterMapResponse> {
        // Serve a fresh map (membership, leaders) when a node answers; else the cached one.
        let quick = self.client.with_timeout(MAP_REFRESH_TIMEOUT);
        if let Err(e) = quick.refresh_cluster_map().await {
            tracing::warn!(error = %e, "facade: refreshing the cluster map failed");
        }
        Ok(Response::new(v1::ClusterMapResponse {
            map: Some(self.map()),
        }))
    }
}

/// Serves `facade` on `listener` until `shutdown` resolves.
pub async fn serve(
    facade: Facade,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // `serve_with_incoming` ignores the builder's `tcp_nodelay` (see the node).
    let incoming = TcpListenerStream::new(listener).map(|s| {
        s.and_then(|s| {
            s.set_nodelay(true)?;
            Ok(s)
        })
    });
    tonic::transport::Server::builder()
        .add_service(
            DougServer::new(facade)
                .max_decoding_message_size(MESSAGE_BYTES_MAX)
                .max_encoding_message_size(MESSAGE_BYTES_MAX),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("serving the facade")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let with = |v: &'static str| {
            let mut r = Request::new(());
            r.metadata_mut().insert(
                "grpc-timeout",
                tonic::metadata::MetadataValue::from_static(v),
            );
            grpc_timeout(&r)
        };
        assert_eq!(with("4999m"), Some(Duration::from_millis(4999)));
        assert_eq!(with("2S"), Some(Duration::from_secs(2)));
        assert_eq!(with("7u"), Some(Duration::from_micros(7)));
        assert_eq!(with("x"), None);
        assert_eq!(with("12"), None);
    }
}
