//! Translation between `dougdb_raft::Message` and the wire's `dougdb.v1.RaftMessage`
//! (one to one, every body variant). Outbound translation is total; inbound translation
//! refuses malformed messages (missing body, node id 0, unknown entry kind, entries that
//! are not consecutive after `prev_log_index`, bad membership) with [`Error::Wire`], so a
//! buggy or hostile peer cannot make the Raft core panic.

use bytes::Bytes;
use dougdb_proto::v1;
use dougdb_proto::v1::raft_message::Body;
use dougdb_raft::{
    AppendRequest, AppendResponse, ConfState, Entry, EntryKind, HeartbeatRequest,
    HeartbeatResponse, LogIndex, Message, MessageBody, NodeId, ReadIndexRequest, ReadIndexResponse,
    SnapshotChunk, SnapshotMetadata, SnapshotResponse, Term, VoteRequest, VoteResponse,
};

use crate::error::{Error, Result};

fn bad(field: &'static str, reason: &'static str) -> Error {
    Error::Wire { field, reason }
}

/// An entry for the wire.
pub fn entry_to_proto(e: Entry) -> v1::Entry {
    let kind = match e.kind {
        EntryKind::Normal => v1::EntryKind::Normal,
        EntryKind::ConfChange => v1::EntryKind::ConfChange,
        EntryKind::Noop => v1::EntryKind::Noop,
    };
    v1::Entry {
        term: e.term.0,
        index: e.index.0,
        kind: kind as i32,
        data: Bytes::from(e.data),
    }
}

/// An entry from the wire.
pub fn entry_from_proto(e: v1::Entry) -> Result<Entry> {
    let kind = match v1::EntryKind::try_from(e.kind) {
        Ok(v1::EntryKind::Normal) => EntryKind::Normal,
        Ok(v1::EntryKind::ConfChange) => EntryKind::ConfChange,
        Ok(v1::EntryKind::Noop) => EntryKind::Noop,
        Ok(v1::EntryKind::Unspecified) | Err(_) => return Err(bad("entry.kind", "unknown kind")),
    };
    if e.index == 0 {
        return Err(bad("entry.index", "index 0"));
    }
    Ok(Entry {
        term: Term(e.term),
        index: LogIndex(e.index),
        kind,
        data: e.data.to_vec(),
    })
}

/// A membership for the wire.
pub fn conf_state_to_proto(c: &ConfState) -> v1::ConfState {
    v1::ConfState {
        voters: c.voters.iter().map(|n| n.0).collect(),
        learners: c.learners.iter().map(|n| n.0).collect(),
    }
}

/// A membership from the wire: no id 0, no duplicates, no node both voter and learner.
pub fn conf_state_from_proto(c: v1::ConfState) -> Result<ConfState> {
    let mut out = ConfState::default();
    for id in c.voters {
        if id == 0 || !out.voters.insert(NodeId(id)) {
            return Err(bad("conf_state.voters", "id 0 or duplicate"));
        }
    }
    for id in c.learners {
        if id == 0 || out.voters.contains(&NodeId(id)) || !out.learners.insert(NodeId(id)) {
            return Err(bad(
                "conf_state.learners",
                "id 0, duplicate, or also a voter",
            ));
        }
    }
    Ok(out)
}

/// Snapshot metadata for the wire.
pub fn snapshot_metadata_to_proto(m: &SnapshotMetadata) -> v1::SnapshotMetadata {
    v1::SnapshotMetadata {
        index: m.index.0,
        term: m.term.0,
        conf_state: Some(conf_state_to_proto(&m.conf_state)),
    }
}

/// Snapshot metadata from the wire.
pub fn snapshot_metadata_from_proto(m: v1::SnapshotMetadata) -> Result<SnapshotMetadata> {
    let conf = m
        .conf_state
        .ok_or_else(|| bad("snapshot.metadata.conf_state", "missing"))?;
    Ok(SnapshotMetadata {
        index: LogIndex(m.index),
        term: Term(m.term),
        conf_state: conf_state_from_proto(conf)?,
    })
}

fn vote_req(v: VoteRequest) -> v1::VoteRequest {
    v1::VoteRequest {
        last_log_index: v.last_log_index.0,
        last_log_term: v.last_log_term.0,
        transfer: v.transfer,
    }
}

fn vote_req_from(v: v1::VoteRequest) -> VoteRequest {
    VoteRequest {
        last_log_index: LogIndex(v.last_log_index),
        last_log_term: Term(v.last_log_term),
        transfer: v.transfer,
    }
}

fn body_to_proto(body: MessageBody) -> Body {
    match body {
        MessageBody::PreVote(v) => Body::PreVote(vote_req(v)),
        MessageBody::PreVoteResponse(r) => {
            Body::PreVoteResponse(v1::VoteResponse { reject: r.reject })
        }
        MessageBody::Vote(v) => Body::Vote(vote_req(v)),
        MessageBody::VoteResponse(r) => Body::VoteResponse(v1::VoteResponse { reject: r.reject }),
        MessageBody::Append(a) => Body::Append(v1::AppendRequest {
            prev_log_index: a.prev_log_index.0,
            prev_log_term: a.prev_log_term.0,
            entries: a.entries.into_iter().map(entry_to_proto).collect(),
            commit: a.commit.0,
        }),
        MessageBody::AppendResponse(r) => Body::AppendResponse(v1::AppendResponse {
            result: Some(match r {
                AppendResponse::Success { match_index } => {
                    v1::append_response::Result::Success(v1::AppendSuccess {
                        match_index: match_index.0,
                    })
                }
                AppendResponse::Reject {
                    rejected_index,
                    hint_index,
                    hint_term,
                } => v1::append_response::Result::Reject(v1::AppendReject {
                    rejected_index: rejected_index.0,
                    hint_index: hint_index.0,
                    hint_term: hint_term.0,
                }),
            }),
        }),
        MessageBody::Heartbeat(h) => Body::Heartbeat(v1::HeartbeatRequest {
            commit: h.commit.0,
            read_round: h.read_round,
        }),
        MessageBody::HeartbeatResponse(h) => Body::HeartbeatResponse(v1::HeartbeatResponse {
            read_round: h.read_round,
            lost_tail: h.lost_tail.map(|i| i.0),
        }),
        MessageBody::Snapshot(c) => Body::Snapshot(v1::SnapshotChunk {
            metadata: Some(snapshot_metadata_to_proto(&c.metadata)),
            offset: c.offset,
            data: Bytes::from(c.data),
            done: c.done,
        }),
        MessageBody::SnapshotResponse(r) => Body::SnapshotResponse(v1::SnapshotResponse {
            snapshot_index: r.snapshot_index.0,
            next_offset: r.next_offset,
            reject: r.reject,
        }),
        MessageBody::TimeoutNow => Body::TimeoutNow(v1::TimeoutNow {}),
        MessageBody::ReadIndex(r) => Body::ReadIndex(v1::ReadIndexRequest {
            context: Bytes::from(r.context),
        }),
        MessageBody::ReadIndexResponse(r) => Body::ReadIndexResponse(v1::ReadIndexResponse {
            context: Bytes::from(r.context),
            index: r.index.0,
        }),
    }
}

fn append_from(a: v1::AppendRequest) -> Result<AppendRequest> {
    let mut entries = Vec::with_capacity(a.entries.len());
    for (k, e) in a.entries.into_iter().enumerate() {
        let e = entry_from_proto(e)?;
        let expected = a.prev_log_index.checked_add(1 + k as u64);
        if Some(e.index.0) != expected {
            return Err(bad(
                "append.entries",
                "not consecutive after prev_log_index",
            ));
        }
        entries.push(e);
    }
    Ok(AppendRequest {
        prev_log_index: LogIndex(a.prev_log_index),
        prev_log_term: Term(a.prev_log_term),
        entries,
        commit: LogIndex(a.commit),
    })
}

fn body_from_proto(body: Body) -> Result<MessageBody> {
    Ok(match body {
        Body::PreVote(v) => MessageBody::PreVote(vote_req_from(v)),
        Body::PreVoteResponse(r) => MessageBody::PreVoteResponse(VoteResponse { reject: r.reject }),
        Body::Vote(v) => MessageBody::Vote(vote_req_from(v)),
        Body::VoteResponse(r) => MessageBody::VoteResponse(VoteResponse { reject: r.reject }),
        Body::Append(a) => MessageBody::Append(append_from(a)?),
        Body::AppendResponse(r) => MessageBody::AppendResponse(match r.result {
            Some(v1::append_response::Result::Success(s)) => AppendResponse::Success {
                match_index: LogIndex(s.match_index),
            },
            Some(v1::append_response::Result::Reject(r)) => AppendResponse::Reject {
                rejected_index: LogIndex(r.rejected_index),
                hint_index: LogIndex(r.hint_index),
                hint_term: Term(r.hint_term),
            },
            None => return Err(bad("append_response.result", "missing")),
        }),
        Body::Heartbeat(h) => MessageBody::Heartbeat(HeartbeatRequest {
            commit: LogIndex(h.commit),
            read_round: h.read_round,
        }),
        Body::HeartbeatResponse(h) => MessageBody::HeartbeatResponse(HeartbeatResponse {
            read_round: h.read_round,
            lost_tail: h.lost_tail.map(LogIndex),
        }),
        Body::Snapshot(c) => MessageBody::Snapshot(SnapshotChunk {
            metadata: snapshot_metadata_from_proto(
                c.metadata
                    .ok_or_else(|| bad("snapshot.metadata", "missing"))?,
            )?,
            offset: c.offset,
            data: c.data.to_vec(),
            done: c.done,
        }),
        Body::SnapshotResponse(r) => MessageBody::SnapshotResponse(SnapshotResponse {
            snapshot_index: LogIndex(r.snapshot_index),
            next_offset: r.next_offset,
            reject: r.reject,
        }),
        Body::TimeoutNow(_) => MessageBody::TimeoutNow,
        Body::ReadIndex(r) => MessageBody::ReadIndex(ReadIndexRequest {
            context: r.context.to_vec(),
        }),
        Body::ReadIndexResponse(r) => MessageBody::ReadIndexResponse(ReadIndexResponse {
            context: r.context.to_vec(),
            index: LogIndex(r.index),
        }),
    })
}

/// A Raft message for the wire.
pub fn message_to_proto(m: Message) -> v1::RaftMessage {
    v1::RaftMessage {
        from: m.from.0,
        to: m.to.0,
        term: m.term.0,
        body: Some(body_to_proto(m.body)),
    }
}

/// A Raft message from the wire, validated.
pub fn message_from_proto(m: v1::RaftMessage) -> Result<Message> {
    if m.from == 0 || m.to == 0 {
        return Err(bad("from/to", "node id 0 is reserved"));
    }
    let body = m.body.ok_or_else(|| bad("body", "missing"))?;
    Ok(Message {
        from: NodeId(m.from),
        to: NodeId(m.to),
        term: Term(m.term),
        body: body_from_proto(body)?,
    })
}
