//! InstallSnapshot, chunked: the leader streams its stored snapshot to a follower whose
//! next entry is compacted away, one chunk at a time (stop-and-wait, resent on heartbeat
//! responses), without knowing the total size up front; the follower assembles the chunks
//! and installs the snapshot through `Ready`.

use crate::error::Result;
use crate::message::{AppendResponse, MessageBody, SnapshotChunk, SnapshotResponse};
use crate::progress::ProgressState;
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::types::{NodeId, Snapshot, SnapshotMetadata};

/// A snapshot being received.
#[derive(Clone, Debug)]
pub struct IncomingSnapshot {
    /// What is being received.
    pub metadata: SnapshotMetadata,
    /// Bytes received so far (a prefix of the snapshot's data).
    pub data: Vec<u8>,
}

impl<S: LogStore> Raft<S> {
    /// Leader: switch `to` to Snapshot state and send the first chunk. Only to peers
    /// recently heard from: a dead peer is probed with cheap Appends instead.
    pub(crate) fn send_snapshot(&mut self, to: NodeId) -> Result<bool> {
        let Some(pr) = self.tracker.progress.get(&to) else {
            return Ok(false);
        };
        if !pr.recent_active {
            return Ok(false);
        }
        self.send_snapshot_chunk(to)
    }

    /// Leader: (re)sends the chunk at the peer's snapshot cursor, restarting from offset 0
    /// if the stored snapshot changed since the stream began.
    pub(crate) fn send_snapshot_chunk(&mut self, to: NodeId) -> Result<bool> {
        let metadata = self.log.store.snapshot_metadata()?;
        let Some(pr) = self.tracker.progress.get_mut(&to) else {
            return Ok(false);
        };
        if pr.state != ProgressState::Snapshot || pr.pending_snapshot != metadata.index {
            pr.become_snapshot(metadata.index);
        }
        let offset = pr.snapshot_offset;
        let read = self
            .log
            .store
            .snapshot_read(offset, self.cfg.max_size_per_msg_bytes)?;
        pr.snapshot_sent_end = offset + read.data.len() as u64;
        let chunk = SnapshotChunk {
            metadata,
            offset,
            data: read.data,
            done: read.done,
        };
        self.send(to, MessageBody::Snapshot(chunk));
        Ok(true)
    }

    /// Leader: a chunk was acknowledged (send the next) or rejected (resume where the
    /// follower says, on the next heartbeat response).
    pub(crate) fn handle_snapshot_response(
        &mut self,
        from: NodeId,
        resp: SnapshotResponse,
    ) -> Result<()> {
        let Some(pr) = self.tracker.progress.get_mut(&from) else {
            return Ok(());
        };
        if pr.state != ProgressState::Snapshot || pr.pending_snapshot != resp.snapshot_index {
            return Ok(());
        }
        if resp.reject {
            pr.snapshot_offset = resp.next_offset;
            return Ok(());
        }
        if resp.next_offset == pr.snapshot_sent_end && resp.next_offset > pr.snapshot_offset {
            pr.snapshot_offset = resp.next_offset;
            self.send_snapshot_chunk(from)?;
        }
        Ok(())
    }

    /// Follower: accumulate a chunk; on the last one, install the snapshot.
    pub(crate) fn handle_snapshot_chunk(
        &mut self,
        from: NodeId,
        chunk: SnapshotChunk,
    ) -> Result<()> {
        let index = chunk.metadata.index;
        if index <= self.log.committed {
            // Nothing to learn: tell the leader where we are so it resumes Appends.
            self.incoming_snapshot = None;
            let body = AppendResponse::Success {
                match_index: self.log.committed,
            };
            self.send(from, MessageBody::AppendResponse(body));
            return Ok(());
        }
        let same = |s: &IncomingSnapshot| s.metadata == chunk.metadata;
        let fits = match &self.incoming_snapshot {
            _ if chunk.offset == 0 => true,
            Some(s) => same(s) && s.data.len() as u64 == chunk.offset,
            None => false,
        };
        if !fits {
            let next_offset = match &self.incoming_snapshot {
                Some(s) if same(s) => s.data.len() as u64,
                _ => 0,
            };
            self.reply_snapshot(from, chunk.metadata.index, next_offset, true);
            return Ok(());
        }
        let received = chunk.offset.saturating_add(chunk.data.len() as u64);
        if received > self.cfg.max_snapshot_bytes {
            tracing::warn!(
                id = self.id.0,
                received,
                "incoming snapshot exceeds max_snapshot_bytes"
            );
            self.incoming_snapshot = None;
            self.reply_snapshot(from, index, 0, true);
            return Ok(());
        }
        let metadata = chunk.metadata;
        match &mut self.incoming_snapshot {
            Some(s) if chunk.offset != 0 => s.data.extend_from_slice(&chunk.data),
            slot => {
                *slot = Some(IncomingSnapshot {
                    metadata,
                    data: chunk.data,
                });
            }
        }
        if !chunk.done {
            self.reply_snapshot(from, index, received, false);
            return Ok(());
        }
        let Some(incoming) = self.incoming_snapshot.take() else {
            return Ok(());
        };
        let snapshot = Snapshot {
            metadata: incoming.metadata,
            data: incoming.data,
        };
        let match_index = if self.restore(snapshot)? {
            self.log.last_index()?
        } else {
            self.log.committed
        };
        let body = AppendResponse::Success { match_index };
        self.send(from, MessageBody::AppendResponse(body));
        Ok(())
    }

    fn reply_snapshot(
        &mut self,
        to: NodeId,
        snapshot_index: crate::LogIndex,
        next_offset: u64,
        reject: bool,
    ) {
        let body = SnapshotResponse {
            snapshot_index,
            next_offset,
            reject,
        };
        self.send(to, MessageBody::SnapshotResponse(body));
    }

    /// Installs `snapshot` into the (unstable) log; false if it taught us nothing.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) -> Result<bool> {
        let meta = &snapshot.metadata;
        if meta.index <= self.log.committed {
            return Ok(false);
        }
        if self.log.match_term(meta.index, meta.term)? {
            // Our log already has the snapshot's last entry: just fast-forward the commit.
            self.log.commit_to(meta.index)?;
            return Ok(false);
        }
        self.confs.reset(meta.index, meta.conf_state.clone());
        self.log.restore(snapshot);
        self.apply_latest_conf()?;
        Ok(true)
    }
}
