//! `Config`: every knob of a Raft node, its default, and validation.

use crate::error::{Error, Result};
use crate::types::{LogIndex, NodeId};

/// How the leader confirms it is still the leader before answering a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOnlyOption {
    /// ReadIndex: a heartbeat round acknowledged by a quorum (safe under any clock).
    Safe,
    /// Answer from the leader lease (relies on check-quorum stepping down a partitioned
    /// leader within an election timeout, i.e. on bounded clock drift). Only with
    /// `check_quorum`.
    LeaseBased,
}

/// Configuration of one Raft node. All durations are in ticks of the caller's clock
/// (10 ms per tick in DougDB).
#[derive(Clone, Debug)]
pub struct Config {
    /// This node's id (non-zero).
    pub id: NodeId,
    /// Base election timeout in ticks; the actual timeout is drawn uniformly from
    /// `[election_tick, 2 * election_tick)` on every reset. Default 15 (150-300 ms).
    pub election_tick: u32,
    /// Heartbeat interval in ticks; must be below `election_tick`. Default 3 (30 ms).
    pub heartbeat_tick: u32,
    /// Run a pre-vote round before bumping the term. Default on.
    pub pre_vote: bool,
    /// Leader steps down when it has not heard from a quorum within an election timeout;
    /// followers refuse votes while they have a live leader. Default on.
    pub check_quorum: bool,
    /// Byte budget of one Append (entries) or one snapshot chunk. Default 1 MiB.
    pub max_size_per_msg_bytes: u64,
    /// Entry-count budget of one Append. Default 1024.
    pub max_entries_per_msg: usize,
    /// Appends in flight to one follower in Replicate state. Default 256.
    pub max_inflight_msgs: usize,
    /// Bytes of entries in flight to one follower. Default 32 MiB.
    pub max_inflight_bytes: u64,
    /// Byte budget of committed entries handed out in one `Ready`. Default 16 MiB.
    pub max_committed_size_per_ready_bytes: u64,
    /// Largest incoming snapshot assembled in memory; larger streams are refused.
    /// Default 1 GiB.
    pub max_snapshot_bytes: u64,
    /// ReadIndex requests a leader queues before it has committed in its term. Default 1024.
    pub max_pending_read_index: usize,
    /// How reads are confirmed. Default `Safe`.
    pub read_only_option: ReadOnlyOption,
    /// Index the state machine has already applied (on restart). Default 0, meaning the
    /// store's snapshot index.
    pub applied: LogIndex,
    /// Seed of the election-timeout PRNG. Give every node a different seed.
    pub seed: u64,
}

impl Config {
    /// Defaults for node `id`, seeded with the id (override `seed` in simulations).
    pub fn new(id: NodeId) -> Config {
        Config {
            id,
            election_tick: 15,
            heartbeat_tick: 3,
            pre_vote: true,
            check_quorum: true,
            max_size_per_msg_bytes: 1 << 20,
            max_entries_per_msg: 1024,
            max_inflight_msgs: 256,
            max_inflight_bytes: 32 << 20,
            max_committed_size_per_ready_bytes: 16 << 20,
            max_snapshot_bytes: 1 << 30,
            max_pending_read_index: 1024,
            read_only_option: ReadOnlyOption::Safe,
            applied: LogIndex(0),
            seed: id.0,
        }
    }

    /// Whether strong reads are served from the leader lease.
    pub fn lease_reads(&self) -> bool {
        self.read_only_option == ReadOnlyOption::LeaseBased
    }

    /// Checks every option; the first problem found is returned.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason| Err(Error::InvalidConfig { field, reason });
        if self.id == NodeId(0) {
            return bad("id", "must be non-zero");
        }
        if self.heartbeat_tick == 0 {
            return bad("heartbeat_tick", "must be > 0");
        }
        if self.election_tick <= self.heartbeat_tick {
            return bad("election_tick", "must be > heartbeat_tick");
        }
        if self.election_tick > u32::MAX / 2 {
            return bad("election_tick", "too large");
        }
        if self.max_size_per_msg_bytes == 0 {
            return bad("max_size_per_msg_bytes", "must be > 0");
        }
        if self.max_entries_per_msg == 0 {
            return bad("max_entries_per_msg", "must be > 0");
        }
        if self.max_inflight_msgs == 0 {
            return bad("max_inflight_msgs", "must be > 0");
        }
        if self.max_inflight_bytes < self.max_size_per_msg_bytes {
            return bad("max_inflight_bytes", "must be >= max_size_per_msg_bytes");
        }
        if self.max_committed_size_per_ready_bytes == 0 {
            return bad("max_committed_size_per_ready_bytes", "must be > 0");
        }
        if self.max_snapshot_bytes == 0 {
            return bad("max_snapshot_bytes", "must be > 0");
        }
        if self.lease_reads() && !self.check_quorum {
            return bad("read_only_option", "LeaseBased requires check_quorum");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_lease_without_check_quorum_is_rejected() {
        let cfg = Config::new(NodeId(1));
        cfg.validate().unwrap();
        let mut lease = cfg.clone();
        lease.read_only_option = ReadOnlyOption::LeaseBased;
        lease.validate().unwrap();
        lease.check_quorum = false;
        assert!(matches!(
            lease.validate(),
            Err(Error::InvalidConfig {
                field: "read_only_option",
                ..
            })
        ));
        let mut zero = cfg.clone();
        zero.id = NodeId(0);
        assert!(zero.validate().is_err());
        let mut hb = cfg;
        hb.heartbeat_tick = 15;
        assert!(matches!(
            hb.validate(),
            Err(Error::InvalidConfig {
                field: "election_tick",
                ..
            })
        ));
    }
}
