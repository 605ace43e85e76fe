//! `scan`: pages through each shard's part of the range and merges the shards in key
//! order (a k-way merge over per-shard cursors), stopping at `limit`.
//!
//! Hash routing spreads every range over every shard, so a scan asks them all (scatter-
//! gather). Range routing could ask only the covering shards, but the cluster map does
//! not carry a router's configuration (its split points) yet, so every wasm router is
//! scanned on all shards too; the result is the same, only the fan-out differs.

use std::collections::VecDeque;

use bytes::Bytes;
use dougdb_proto::v1::ScanRequest;

use crate::exec::{Access, request};
use crate::{Client, Consistency, Error, Result, ShardId};

/// Pairs asked for per page when the caller set no smaller limit.
const PAGE_PAIRS_MAX: usize = 1000;

/// Where one shard's part of the scan stands.
#[derive(Debug)]
struct Cursor {
    shard: ShardId,
    /// Fetched pairs not merged yet, in key order.
    buffer: VecDeque<(Bytes, Bytes)>,
    /// `None` before the first page; then the server's continuation (empty: exhausted).
    continuation: Option<Bytes>,
    /// Largest key received, to check the shard answers in order.
    last_key: Option<Bytes>,
}

impl Cursor {
    fn exhausted(&self) -> bool {
        self.continuation.as_ref().is_some_and(Bytes::is_empty)
    }

    fn needs_page(&self) -> bool {
        self.buffer.is_empty() && !self.exhausted()
    }
}

impl Client {
    /// Pairs with `start <= key < end` (`end: None`: to the end of the key space), in key
    /// order across all shards, at most `limit` of them (`None`: all, paged internally;
    /// `Some(0)`: none).
    pub async fn scan(
        &self,
        start: impl AsRef<[u8]>,
        end: Option<&[u8]>,
        limit: Option<usize>,
        consistency: Consistency,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let start = Bytes::copy_from_slice(start.as_ref());
        let end = end.map(Bytes::copy_from_slice);
        if limit == Some(0) || end.as_ref().is_some_and(|e| *e <= start) {
            return Ok(Vec::new());
        }
        let shard_count = self.cluster_map().shard_count();
        let mut cursors: Vec<Cursor> = (0..u64::from(shard_count))
            .map(|s| Cursor {
                shard: ShardId(s),
                buffer: VecDeque::new(),
                continuation: None,
                last_key: None,
            })
            .collect();
        let deadline = self.deadline();
        let access = match consistency {
            Consistency::Strong => Access::Strong,
            Consistency::Eventual => Access::Eventual,
        };
        let mut out = Vec::new();
        loop {
            let wanted = limit.map_or(PAGE_PAIRS_MAX, |l| (l - out.len()).min(PAGE_PAIRS_MAX));
            // Every live cursor needs a head before the smallest can be chosen; a page may
            // come back empty with a continuation (server-side size cap), hence the loop.
            while cursors.iter().any(Cursor::needs_page) {
                let pages = cursors.iter_mut().filter(|c| c.needs_page()).map(|cursor| {
                    let req = ScanRequest {
                        shard: cursor.shard.0,
                        start: start.clone(),
                        end: end.clone(),
                        limit: u32::try_from(wanted).unwrap_or(u32::MAX),
                        consistency: consistency.to_proto(),
                        continuation: cursor.continuation.clone().unwrap_or_default(),
                    };
                    let page = self.run(cursor.shard, access, deadline, move |mut c, t| {
                        let req = req.clone();
                        async move { c.scan(request(req, t)).await.map(|r| r.into_inner()) }
                    });
                    async move { page.await.map(|page| (cursor, page)) }
                });
                for result in futures::future::join_all(pages).await {
                    let (cursor, page) = result?;
                    for pair in page.pairs {
                        if cursor
                            .last_key
                            .as_ref()
                            .is_some_and(|last| pair.key <= *last)
                        {
                            return Err(Error::protocol(format!(
                                "shard {} returned scan keys out of order",
                                cursor.shard
                            )));
                        }
                        cursor.last_key = Some(pair.key.clone());
                        cursor.buffer.push_back((pair.key, pair.value));
                    }
                    cursor.continuation = Some(page.continuation);
                }
            }
            let next = cursors
                .iter_mut()
                .filter_map(|c| c.buffer.front().map(|(k, _)| k.clone()).zip(Some(c)))
                .min_by(|(a, _), (b, _)| a.cmp(b));
            let Some((_, cursor)) = next else {
                return Ok(out);
            };
            if let Some(pair) = cursor.buffer.pop_front() {
                out.push(pair);
            }
            if limit.is_some_and(|l| out.len() >= l) {
                return Ok(out);
            }
        }
    }
}
