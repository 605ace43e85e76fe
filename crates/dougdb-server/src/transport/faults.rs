//! Fault injection on a node's Raft links (partition, cut, random drop), driven by the
//! Admin service. Only consulted when the node was started with fault injection enabled;
//! never persisted. Client traffic is not affected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// Faults on the link to one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFault {
    /// Messages from the peer are dropped.
    pub inbound_cut: bool,
    /// Messages to the peer are dropped.
    pub outbound_cut: bool,
    /// Fraction of outbound messages dropped, in millionths.
    pub drop_per_million: u32,
}

/// Which way a cut applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// From the peer to this node.
    Inbound,
    /// From this node to the peer.
    Outbound,
    /// Both.
    Both,
}

/// The node's fault table.
#[derive(Debug)]
pub struct Faults {
    enabled: bool,
    table: RwLock<BTreeMap<u64, LinkFault>>,
    /// Drop rate for peers without their own entry (`DropRate` with peer 0).
    drop_all_per_million: AtomicU64,
    /// splitmix64 state for drop decisions (not security sensitive).
    rng: AtomicU64,
}

impl Faults {
    /// A table; with `enabled` false every control call is refused by the Admin service
    /// and every message passes.
    pub fn new(enabled: bool, seed: u64) -> Faults {
        Faults {
            enabled,
            table: RwLock::new(BTreeMap::new()),
            drop_all_per_million: AtomicU64::new(0),
            rng: AtomicU64::new(seed | 1),
        }
    }

    /// Whether fault injection is enabled on this node.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn next_million(&self) -> u32 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % 1_000_000) as u32
    }

    /// Whether a message to `peer` may leave.
    pub fn allow_outbound(&self, peer: u64) -> bool {
        if !self.enabled {
            return true;
        }
        let (cut, rate) = match self.table.read().get(&peer) {
            Some(f) => (f.outbound_cut, f.drop_per_million),
            None => (false, 0),
        };
        let rate = rate.max(self.drop_all_per_million.load(Ordering::Relaxed) as u32);
        !cut && (rate == 0 || self.next_million() >= rate)
    }

    /// Whether a message from `peer` may be delivered.
    pub fn allow_inbound(&self, peer: u64) -> bool {
        !self.enabled || !self.table.read().get(&peer).is_some_and(|f| f.inbound_cut)
    }

    /// Cuts the links to `peers` both ways.
    pub fn partition(&self, peers: &[u64]) {
        for &p in peers {
            self.cut(p, Way::Both);
        }
    }

    /// Cuts the link to `peer` in `way`.
    pub fn cut(&self, peer: u64, way: Way) {
        let mut t = self.table.write();
        let f = t.entry(peer).or_default();
        f.inbound_cut |= matches!(way, Way::Inbound | Way::Both);
        f.outbound_cut |= matches!(way, Way::Outbound | Way::Both);
    }

    /// Removes the faults of `peers` (all faults when empty).
    pub fn heal(&self, peers: &[u64]) {
        let mut t = self.table.write();
        if peers.is_empty() {
            t.clear();
            self.drop_all_per_million.store(0, Ordering::Relaxed);
        } else {
            for p in peers {
                t.remove(p);
            }
        }
    }

    /// Sets the drop rate to `peer` (every peer when 0), capped at one million.
    pub fn drop_rate(&self, peer: u64, per_million: u32) {
        let rate = per_million.min(1_000_000);
        if peer == 0 {
            self.drop_all_per_million
                .store(u64::from(rate), Ordering::Relaxed);
        } else {
            self.table.write().entry(peer).or_default().drop_per_million = rate;
        }
    }

    /// The table, by peer.
    pub fn links(&self) -> Vec<(u64, LinkFault)> {
        self.table.read().iter().map(|(p, f)| (*p, *f)).collect()
    }
}
