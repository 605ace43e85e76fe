//! Fault profiles and the per-run configuration drawn from a seed: group size, network
//! hostility, crash/partition/membership/transfer rates, message size limits (so snapshots
//! go out in several chunks), and the compaction threshold.

use crate::network::NetConfig;
use crate::rng::SimRng;

/// A family of faults. A seed picks one; `Chaos` mixes them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Jittery but reliable network, no crashes: the baseline.
    Calm,
    /// Drops, duplicates, long delays (reordering).
    Lossy,
    /// Symmetric and one-way partitions that come and go.
    Partitions,
    /// Crashes (including in the middle of a `Ready`) and restarts; pauses.
    Crashes,
    /// Membership changes and leader transfers under a mildly lossy network.
    Membership,
    /// Everything at once.
    Chaos,
}

impl Profile {
    /// Every profile, in seed order.
    pub const ALL: [Profile; 6] = [
        Profile::Calm,
        Profile::Lossy,
        Profile::Partitions,
        Profile::Crashes,
        Profile::Membership,
        Profile::Chaos,
    ];
}

/// Probabilities are per tick unless said otherwise.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// The profile these rates came from.
    pub profile: Profile,
    /// Network model while faults are on.
    pub net: NetConfig,
    /// Crash a running node.
    pub crash_p: f64,
    /// Per `Ready`: crash in the middle of carrying it out.
    pub crash_in_ready_p: f64,
    /// Restart a crashed node.
    pub restart_p: f64,
    /// Start a partition (when none is active).
    pub partition_p: f64,
    /// Heal the partitions (when some are active).
    pub heal_p: f64,
    /// Propose a membership change.
    pub membership_p: f64,
    /// Ask the leader to transfer leadership.
    pub transfer_p: f64,
    /// Pause a running node (the leader half the time) for a few election timeouts.
    pub pause_p: f64,
}

impl FaultConfig {
    /// Rates for `profile`, with some per-seed variation.
    pub fn for_profile(profile: Profile, rng: &mut SimRng) -> FaultConfig {
        let jitter = NetConfig {
            delay_max_ticks: rng.range(0, 3),
            ..NetConfig::perfect()
        };
        let lossy = NetConfig {
            drop_p: [0.01, 0.05, 0.15][rng.index(3)],
            dup_p: [0.0, 0.02, 0.1][rng.index(3)],
            delay_min_ticks: 0,
            delay_max_ticks: rng.range(1, 4),
            long_delay_p: 0.02,
            long_delay_max_ticks: rng.range(5, 30),
        };
        let none = FaultConfig {
            profile,
            net: jitter.clone(),
            crash_p: 0.0,
            crash_in_ready_p: 0.0,
            restart_p: 0.0,
            partition_p: 0.0,
            heal_p: 0.0,
            membership_p: 0.0,
            transfer_p: 0.0,
            pause_p: 0.0,
        };
        match profile {
            Profile::Calm => none,
            Profile::Lossy => FaultConfig { net: lossy, ..none },
            Profile::Partitions => FaultConfig {
                partition_p: 0.03,
                heal_p: 0.03,
                pause_p: 0.01,
                ..none
            },
            Profile::Crashes => FaultConfig {
                crash_p: 0.01,
                crash_in_ready_p: 0.002,
                restart_p: 0.05,
                pause_p: 0.01,
                ..none
            },
            Profile::Membership => FaultConfig {
                net: NetConfig {
                    drop_p: 0.01,
                    ..lossy
                },
                membership_p: 0.05,
                transfer_p: 0.02,
                ..none
            },
            Profile::Chaos => FaultConfig {
                net: lossy,
                crash_p: 0.005,
                crash_in_ready_p: 0.001,
                restart_p: 0.04,
                partition_p: 0.02,
                heal_p: 0.03,
                membership_p: 0.03,
                transfer_p: 0.01,
                pause_p: 0.005,
                ..none
            },
        }
    }
}

/// Everything a run is parameterised by, drawn from its seed.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed (replays the run).
    pub seed: u64,
    /// Initial voters: 3, 5 or 7.
    pub group_size: u64,
    /// Extra nodes that start empty and may be added later.
    pub spares: u64,
    /// Ticks with faults on, before healing.
    pub fault_ticks: u64,
    /// Fault rates.
    pub faults: FaultConfig,
    /// Raft election tick (the timeout is drawn from `[e, 2e)`).
    pub election_tick: u32,
    /// Raft heartbeat tick.
    pub heartbeat_tick: u32,
    /// Byte budget of one Append or snapshot chunk.
    pub max_size_per_msg_bytes: u64,
    /// Entry budget of one Append.
    pub max_entries_per_msg: usize,
    /// Appends in flight per follower.
    pub max_inflight_msgs: usize,
    /// Compact when this many applied entries precede the applied index.
    pub compact_threshold: u64,
    /// A deliberately broken disk on every node (checker self-tests only).
    pub sabotage: Option<crate::disk::Sabotage>,
    /// Strong reads by leader lease (`ReadOnlyOption::LeaseBased`) instead of ReadIndex.
    pub lease_reads: bool,
}

impl SimConfig {
    /// The configuration of run `seed`: profile by `seed % 6`, group size and the rest
    /// drawn from the seed.
    pub fn from_seed(seed: u64) -> SimConfig {
        let mut rng = SimRng::new(seed ^ 0x5EED_C0DE);
        let profile = Profile::ALL[(seed % 6) as usize];
        let group_size = [3, 3, 3, 5, 5, 7][rng.index(6)];
        let faults = FaultConfig::for_profile(profile, &mut rng);
        SimConfig {
            seed,
            group_size,
            spares: 2,
            fault_ticks: rng.range(200, 400),
            faults,
            election_tick: 10,
            heartbeat_tick: 2,
            max_size_per_msg_bytes: [40, 200, 4096][rng.index(3)],
            max_entries_per_msg: [1, 4, 64][rng.index(3)],
            max_inflight_msgs: [1, 4, 256][rng.index(3)],
            compact_threshold: [8, 30, 1000][rng.index(3)],
            sabotage: None,
            lease_reads: rng.chance(0.5),
        }
    }
}
