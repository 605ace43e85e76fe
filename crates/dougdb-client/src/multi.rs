//! Multi-key operations: `put_many` (one atomic batch per shard) and `get_many` (results
//! aligned with the keys).

use std::collections::BTreeMap;

use bytes::Bytes;
use dougdb_proto::v1::{BatchOp, BatchPut, BatchRequest, batch_op};
use futures::StreamExt;

use crate::exec::request;
use crate::ops::check_key;
use crate::{Client, Consistency, Error, Result, ShardId};

/// Most ops in one Batch (the server's limit, kv.proto).
pub const BATCH_OPS_MAX: usize = 1024;
/// Most key and value bytes in one Batch (the server caps a batch at 4 MiB).
pub const BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Gets in flight at once for one `get_many`.
const GET_MANY_IN_FLIGHT_MAX: usize = 32;

impl Client {
    /// Puts every pair. Pairs of one shard go in one `Batch`, applied atomically; shards
    /// are written in parallel, not atomically together. A shard's share must fit one
    /// batch ([`BATCH_OPS_MAX`] pairs, [`BATCH_BYTES_MAX`] bytes), else `InvalidArgument`
    /// and nothing is sent.
    pub async fn put_many<K, V>(&self, items: impl IntoIterator<Item = (K, V)>) -> Result<()>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let items: Vec<(Bytes, Bytes)> = items
            .into_iter()
            .map(|(k, v)| {
                (
                    Bytes::copy_from_slice(k.as_ref()),
                    Bytes::copy_from_slice(v.as_ref()),
                )
            })
            .collect();
        let keys: Vec<&[u8]> = items.iter().map(|(k, _)| k.as_ref()).collect();
        for key in &keys {
            check_key(key)?;
        }
        let shards = self.route(&keys)?;
        let mut groups: BTreeMap<ShardId, (Vec<BatchOp>, usize)> = BTreeMap::new();
        for ((key, value), shard) in items.iter().zip(shards) {
            let (ops, bytes) = groups.entry(shard).or_default();
            *bytes += key.len() + value.len();
            ops.push(BatchOp {
                op: Some(batch_op::Op::Put(BatchPut {
                    key: key.clone(),
                    value: value.clone(),
                })),
            });
        }
        for (shard, (ops, bytes)) in &groups {
            if ops.len() > BATCH_OPS_MAX || *bytes > BATCH_BYTES_MAX {
                return Err(Error::invalid(format!(
                    "put_many sends each shard's pairs as one atomic batch of at most \
                     {BATCH_OPS_MAX} pairs and {BATCH_BYTES_MAX} bytes; shard {shard} got {} \
                     pairs and {bytes} bytes: split the call",
                    ops.len()
                )));
            }
        }
        let deadline = self.deadline();
        let writes = groups.into_iter().map(|(shard, (ops, _))| {
            self.run_write(shard, deadline, move |mut c, t, tag| {
                let req = BatchRequest {
                    shard: shard.0,
                    ops: ops.clone(),
                    tag: Some(tag),
                };
                async move { c.batch(request(req, t)).await.map(|_| ()) }
            })
        });
        let results = futures::future::join_all(writes).await;
        // An uncertain outcome on one shard says more than a certain failure on another.
        let uncertain = results
            .iter()
            .position(|r| matches!(r, Err(Error::Timeout { .. } | Error::Unavailable { .. })));
        match uncertain {
            Some(i) => results.into_iter().nth(i).unwrap_or(Ok(())),
            None => results.into_iter().collect(),
        }
    }

    /// The value of each key (`None` where absent), aligned with `keys`.
    pub async fn get_many<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        consistency: Consistency,
    ) -> Result<Vec<Option<Bytes>>> {
        let keys: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
        for key in &keys {
            check_key(key)?;
        }
        let shards = self.route(&keys)?;
        let deadline = self.deadline();
        let gets = keys.iter().zip(shards).map(|(key, shard)| {
            self.get_on(shard, Bytes::copy_from_slice(key), consistency, deadline)
        });
        let results: Vec<Result<Option<Bytes>>> = futures::stream::iter(gets)
            .buffered(GET_MANY_IN_FLIGHT_MAX)
            .collect()
            .await;
        results.into_iter().collect()
    }
}
