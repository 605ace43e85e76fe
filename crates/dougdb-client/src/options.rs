//! Client options: deadlines, retry backoff, message size, write slots, pinning.

use std::time::Duration;

/// Read consistency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Linearizable: served by the shard's leader (ReadIndex).
    #[default]
    Strong,
    /// Any replica answers from its own state; may be stale.
    Eventual,
}

impl Consistency {
    pub(crate) fn to_proto(self) -> i32 {
        match self {
            Consistency::Strong => dougdb_proto::v1::Consistency::Strong as i32,
            Consistency::Eventual => dougdb_proto::v1::Consistency::Eventual as i32,
        }
    }
}

/// How a [`Client`](crate::Client) connects and retries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Node addresses (`host:port`, or `http://host:port`); any one that answers is enough
    /// to fetch the cluster map.
    pub endpoints: Vec<String>,
    /// Default deadline of every call (and of `connect` itself); per call:
    /// [`Client::with_timeout`](crate::Client::with_timeout).
    pub timeout: Duration,
    /// First retry delay; doubles on each retry (full jitter), up to `backoff_max`.
    pub backoff_initial: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Longest wait for one TCP connection to a node (also bounded by the deadline).
    pub connect_timeout: Duration,
    /// Longest wait for one attempt's answer before the client tries elsewhere (a paused
    /// or partitioned leader must not hold a call for its whole deadline). A write whose
    /// attempt timed out is retried with the same tag, so it still applies at most once.
    /// Pinned clients have nowhere else to go and wait for the whole deadline.
    pub attempt_timeout: Duration,
    /// Largest gRPC message sent or received, in bytes.
    pub message_bytes_max: usize,
    /// Writes in flight at once: one client id per slot, since a server admits one write
    /// in flight per client id. More concurrent writes wait for a free slot.
    pub write_slots: usize,
    /// Talk to `endpoints[0]` only, with no redirects: writes and strong reads that node
    /// does not lead fail with [`Error::NotLeader`](crate::Error::NotLeader).
    pub pinned: bool,
    /// Seed of the client's RNG (client ids, jitter, replica choice); `None`: the OS's.
    pub seed: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(1),
            message_bytes_max: 16 * 1024 * 1024,
            write_slots: 64,
            pinned: false,
            seed: None,
        }
    }
}

impl ClientOptions {
    /// Default options for `endpoints`.
    pub fn new<S: AsRef<str>>(endpoints: &[S]) -> Self {
        Self {
            endpoints: endpoints.iter().map(|e| e.as_ref().to_string()).collect(),
            ..Self::default()
        }
    }
}
