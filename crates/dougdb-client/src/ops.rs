//! Single-key operations: `put`, `get`, `delete`, `cas`.

use bytes::Bytes;
use dougdb_proto::v1::{CasRequest, DeleteRequest, GetRequest, PutRequest};

use crate::backoff::Deadline;
use crate::exec::{Access, request};
use crate::{Client, Consistency, Error, Result, ShardId};

impl Client {
    /// Sets `key` to `value`.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, shard) = self.key_and_shard(key.as_ref())?;
        let value = Bytes::copy_from_slice(value.as_ref());
        self.run_write(shard, self.deadline(), |mut c, t, tag| {
            let req = PutRequest {
                shard: shard.0,
                key: key.clone(),
                value: value.clone(),
                tag: Some(tag),
            };
            async move { c.put(request(req, t)).await.map(|_| ()) }
        })
        .await
    }

    /// The value of `key`, `None` when absent (`Some(b"")` is a present, empty value).
    pub async fn get(
        &self,
        key: impl AsRef<[u8]>,
        consistency: Consistency,
    ) -> Result<Option<Bytes>> {
        let (key, shard) = self.key_and_shard(key.as_ref())?;
        self.get_on(shard, key, consistency, self.deadline()).await
    }

    /// Deletes `key`; says whether it existed (as seen by the single application of this
    /// delete, even when the call was retried).
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let (key, shard) = self.key_and_shard(key.as_ref())?;
        self.run_write(shard, self.deadline(), |mut c, t, tag| {
            let req = DeleteRequest {
                shard: shard.0,
                key: key.clone(),
                tag: Some(tag),
            };
            async move {
                c.delete(request(req, t))
                    .await
                    .map(|r| r.into_inner().existed)
            }
        })
        .await
    }

    /// Compare-and-set: if `key`'s value equals `expected` (`None`: the key is absent),
    /// sets it to `new` (`None`: deletes it). Returns whether it did.
    pub async fn cas(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        let (key, shard) = self.key_and_shard(key.as_ref())?;
        let expected = expected.map(Bytes::copy_from_slice);
        let new_value = new.map(Bytes::copy_from_slice);
        self.run_write(shard, self.deadline(), |mut c, t, tag| {
            let req = CasRequest {
                shard: shard.0,
                key: key.clone(),
                expected: expected.clone(),
                new_value: new_value.clone(),
                tag: Some(tag),
            };
            async move { c.cas(request(req, t)).await.map(|r| r.into_inner().success) }
        })
        .await
    }

    pub(crate) async fn get_on(
        &self,
        shard: ShardId,
        key: Bytes,
        consistency: Consistency,
        deadline: Deadline,
    ) -> Result<Option<Bytes>> {
        let access = match consistency {
            Consistency::Strong => Access::Strong,
            Consistency::Eventual => Access::Eventual,
        };
        self.run(shard, access, deadline, |mut c, t| {
            let req = GetRequest {
                shard: shard.0,
                key: key.clone(),
                consistency: consistency.to_proto(),
            };
            async move { c.get(request(req, t)).await.map(|r| r.into_inner().value) }
        })
        .await
    }

    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    fn key_and_shard(&self, key: &[u8]) -> Result<(Bytes, ShardId)> {
        check_key(key)?;
        Ok((Bytes::copy_from_slice(key), self.shard_for(key)?))
    }
}

/// Refuses what no server accepts, before routing or sending (size limits are the
/// server's, which may be configured).
pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("the key is empty; keys are 1 or more bytes"));
    }
    Ok(())
}
