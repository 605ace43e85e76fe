//! The messages Raft peers exchange. Plain data: the server translates them to protobuf,
//! the simulator moves them around as they are.

use crate::types::{Entry, LogIndex, NodeId, SnapshotMetadata, Term};

/// One message between two peers of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Sender's term (for `PreVote` and a granted `PreVoteResponse`: the term the
    /// pre-candidate would campaign in, one past its current term).
    pub term: Term,
    /// What the message says.
    pub body: MessageBody,
}

/// Message kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    /// Would you vote for me in `term`? Changes nobody's term.
    PreVote(VoteRequest),
    /// Answer to `PreVote`.
    PreVoteResponse(VoteResponse),
    /// Vote for me in `term`.
    Vote(VoteRequest),
    /// Answer to `Vote`.
    VoteResponse(VoteResponse),
    /// AppendEntries: replicate `entries` after `prev_log_index`.
    Append(AppendRequest),
    /// Answer to `Append` (also sent after a snapshot is installed).
    AppendResponse(AppendResponse),
    /// Leader liveness plus commit index and read-index confirmation round.
    Heartbeat(HeartbeatRequest),
    /// Answer to `Heartbeat`, echoing its read round.
    HeartbeatResponse(HeartbeatResponse),
    /// One chunk of an InstallSnapshot stream.
    Snapshot(SnapshotChunk),
    /// Acknowledges (or rejects) a non-final snapshot chunk.
    SnapshotResponse(SnapshotResponse),
    /// Leader transfer: campaign now, ignoring leases and pre-vote.
    TimeoutNow,
    /// A follower forwards a ReadIndex request to its leader.
    ReadIndex(ReadIndexRequest),
    /// The leader's answer to a forwarded ReadIndex request.
    ReadIndexResponse(ReadIndexResponse),
}

/// Body of `PreVote` and `Vote`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteRequest {
    /// Candidate's last log index (for the up-to-date check).
    pub last_log_index: LogIndex,
    /// Term of the candidate's last entry.
    pub last_log_term: Term,
    /// Set when the campaign comes from a leader transfer (`TimeoutNow`): voters then
    /// ignore their leader lease.
    pub transfer: bool,
}

/// Body of `PreVoteResponse` and `VoteResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteResponse {
    /// `true` when the vote is refused.
    pub reject: bool,
}

/// Body of `Append`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendRequest {
    /// Index of the entry just before `entries`.
    pub prev_log_index: LogIndex,
    /// Term of that entry (the consistency check).
    pub prev_log_term: Term,
    /// Entries to append, consecutive, starting at `prev_log_index + 1`.
    pub entries: Vec<Entry>,
    /// Leader's commit index.
    pub commit: LogIndex,
}

/// Body of `AppendResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendResponse {
    /// The follower's log matches the leader's up to `match_index`.
    Success {
        /// Highest index known to match the leader's log.
        match_index: LogIndex,
    },
    /// The consistency check failed at `rejected_index`.
    Reject {
        /// The `prev_log_index` that was rejected.
        rejected_index: LogIndex,
        /// Fast backtracking hint: the largest index `<= rejected_index` whose term is
        /// `<= prev_log_term` of the rejected request...
        hint_index: LogIndex,
        /// ...and the term of the follower's entry at `hint_index`.
        hint_term: Term,
    },
}

/// Body of `Heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// `min(leader commit, follower match)`: never beyond what the follower has.
    pub commit: LogIndex,
    /// Read-index round this heartbeat confirms (0: none).
    pub read_round: u64,
}

/// Body of `HeartbeatResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// Echo of the heartbeat's `read_round`.
    pub read_round: u64,
    /// Set when the heartbeat's commit index is past this follower's last index: its log
    /// ends here. A follower only gets such a commit if it lost entries it had
    /// acknowledged (a damaged WAL tail cut at restart, say); the leader then lowers its
    /// record of the follower's match and sends the entries again.
    pub lost_tail: Option<LogIndex>,
}

/// Body of `Snapshot`: one chunk of a stream whose total size is not known up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// Metadata of the snapshot being streamed (repeated in every chunk).
    pub metadata: SnapshotMetadata,
    /// Byte offset of `data` within the snapshot.
    pub offset: u64,
    /// The chunk's bytes.
    pub data: Vec<u8>,
    /// Last chunk: the receiver installs the snapshot.
    pub done: bool,
}

/// Body of `SnapshotResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotResponse {
    /// Index of the snapshot the receiver is assembling.
    pub snapshot_index: LogIndex,
    /// Offset the receiver expects next.
    pub next_offset: u64,
    /// The chunk did not fit (wrong offset or different snapshot): resume at `next_offset`.
    pub reject: bool,
}

/// Body of `ReadIndex`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadIndexRequest {
    /// Caller's opaque request id, returned in the `ReadState`.
    pub context: Vec<u8>,
}

/// Body of `ReadIndexResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadIndexResponse {
    /// Echo of the request's context.
    pub context: Vec<u8>,
    /// Read may be served once the state machine has applied this index.
    pub index: LogIndex,
}
