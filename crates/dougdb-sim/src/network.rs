//! The simulated network: every message gets a delay drawn from the seed, may be dropped or
//! duplicated, and is lost if its link is cut (at send or at delivery time). Reordering
//! falls out of independent delays. Partitions are sets of cut *directed* links, so one-way
//! partitions are as easy to express as symmetric ones.

use std::collections::BTreeSet;

use dougdb_raft::NodeId;

use crate::clock::{EventQueue, Tick};
use crate::rng::SimRng;

/// How hostile the network is. Probabilities are per message.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Probability a message is silently lost.
    pub drop_p: f64,
    /// Probability a message is delivered twice (the copy gets its own delay).
    pub dup_p: f64,
    /// Smallest delay in ticks (0: delivered within the step it was sent).
    pub delay_min_ticks: u64,
    /// Largest usual delay in ticks.
    pub delay_max_ticks: u64,
    /// Probability of a long delay instead (a straggler that arrives after newer messages).
    pub long_delay_p: f64,
    /// Largest long delay in ticks.
    pub long_delay_max_ticks: u64,
}

impl NetConfig {
    /// Zero-cost network: no delay, no loss (used by the benchmark and after healing).
    pub fn perfect() -> NetConfig {
        NetConfig {
            drop_p: 0.0,
            dup_p: 0.0,
            delay_min_ticks: 0,
            delay_max_ticks: 0,
            long_delay_p: 0.0,
            long_delay_max_ticks: 0,
        }
    }

    /// Reliable but with some jitter (what liveness is measured under).
    pub fn calm() -> NetConfig {
        NetConfig {
            delay_max_ticks: 1,
            ..NetConfig::perfect()
        }
    }
}

/// Counters for the end-of-run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages handed to `send`.
    pub sent: u64,
    /// Lost to `drop_p` or to a cut link.
    pub dropped: u64,
    /// Extra copies scheduled.
    pub duplicated: u64,
    /// Handed to a receiver.
    pub delivered: u64,
}

#[derive(Debug)]
struct InFlight<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
}

/// Messages in flight between simulated nodes.
#[derive(Debug)]
pub struct Network<M> {
    config: NetConfig,
    queue: EventQueue<InFlight<M>>,
    /// Cut directed links `(from, to)`.
    cut: BTreeSet<(NodeId, NodeId)>,
    stats: NetStats,
}

impl<M: Clone> Network<M> {
    /// An empty network with no partitions.
    pub fn new(config: NetConfig) -> Network<M> {
        Network {
            config,
            queue: EventQueue::default(),
            cut: BTreeSet::new(),
            stats: NetStats::default(),
        }
    }

    /// Replaces the loss/delay model (messages already in flight keep their schedule).
    pub fn set_config(&mut self, config: NetConfig) {
        self.config = config;
    }

    /// The current loss/delay model.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Messages in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    fn delay(&self, rng: &mut SimRng) -> u64 {
        let c = &self.config;
        if c.long_delay_p > 0.0 && rng.chance(c.long_delay_p) {
            rng.range(c.delay_max_ticks, c.long_delay_max_ticks.saturating_add(1))
        } else {
            rng.range(c.delay_min_ticks, c.delay_max_ticks.saturating_add(1))
        }
    }

    /// Sends `msg` from `from` to `to` at `now`.
    pub fn send(&mut self, now: Tick, from: NodeId, to: NodeId, msg: M, rng: &mut SimRng) {
        self.stats.sent += 1;
        if self.is_cut(from, to) || rng.chance(self.config.drop_p) {
            self.stats.dropped += 1;
            return;
        }
        if rng.chance(self.config.dup_p) {
            self.stats.duplicated += 1;
            let due = now.plus(self.delay(rng));
            let copy = InFlight {
                from,
                to,
                msg: msg.clone(),
            };
            self.queue.push(due, copy);
        }
        let due = now.plus(self.delay(rng));
        self.queue.push(due, InFlight { from, to, msg });
    }

    /// The next message due at or before `now` whose link is still open, as
    /// `(from, to, msg)`. Messages whose link was cut while in flight are dropped.
    pub fn next_due(&mut self, now: Tick) -> Option<(NodeId, NodeId, M)> {
        while let Some(m) = self.queue.pop_due(now) {
            if self.is_cut(m.from, m.to) {
                self.stats.dropped += 1;
                continue;
            }
            self.stats.delivered += 1;
            return Some((m.from, m.to, m.msg));
        }
        None
    }

    /// Drops every in-flight message to or from `node` (its sockets died with it).
    pub fn forget_node(&mut self, node: NodeId) {
        let before = self.queue.len();
        self.queue.retain(|m| m.from != node && m.to != node);
        self.stats.dropped += (before - self.queue.len()) as u64;
    }

    /// Whether messages from `from` to `to` are currently lost.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Cuts the directed link `from -> to` (a one-way partition).
    pub fn cut_one_way(&mut self, from: NodeId, to: NodeId) {
        if from != to {
            self.cut.insert((from, to));
        }
    }

    /// Splits `side_a` from `side_b` in both directions.
    pub fn partition(&mut self, side_a: &[NodeId], side_b: &[NodeId]) {
        for &a in side_a {
            for &b in side_b {
                self.cut_one_way(a, b);
                self.cut_one_way(b, a);
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        !self.cut.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(net: &mut Network<u32>, now: Tick) -> Vec<u32> {
        std::iter::from_fn(|| net.next_due(now).map(|(_, _, m)| m)).collect()
    }

    #[test]
    fn perfect_network_delivers_in_order_within_the_step() {
        let mut net = Network::new(NetConfig::perfect());
        let mut rng = SimRng::new(1);
        for i in 0..5 {
            net.send(Tick(0), NodeId(1), NodeId(2), i, &mut rng);
        }
        assert_eq!(drain(&mut net, Tick(0)), vec![0, 1, 2, 3, 4]);
        assert_eq!(net.stats().delivered, 5);
    }

    #[test]
    fn partitions_are_directional_and_heal_restores() {
        let mut net = Network::new(NetConfig::perfect());
        let mut rng = SimRng::new(1);
        net.cut_one_way(NodeId(1), NodeId(2));
        net.send(Tick(0), NodeId(1), NodeId(2), 1, &mut rng);
        net.send(Tick(0), NodeId(2), NodeId(1), 2, &mut rng);
        assert_eq!(drain(&mut net, Tick(0)), vec![2]);
        net.partition(&[NodeId(1)], &[NodeId(2), NodeId(3)]);
        net.send(Tick(0), NodeId(3), NodeId(1), 3, &mut rng);
        assert!(drain(&mut net, Tick(0)).is_empty());
        net.heal();
        assert!(!net.is_partitioned());
        net.send(Tick(0), NodeId(3), NodeId(1), 4, &mut rng);
        assert_eq!(drain(&mut net, Tick(0)), vec![4]);
    }

    #[test]
    fn cut_while_in_flight_loses_the_message_and_delays_reorder() {
        let cfg = NetConfig {
            delay_max_ticks: 5,
            dup_p: 0.5,
            ..NetConfig::perfect()
        };
        let mut net = Network::new(cfg);
        let mut rng = SimRng::new(9);
        for i in 0..50 {
            net.send(Tick(0), NodeId(1), NodeId(2), i, &mut rng);
        }
        let got = drain(&mut net, Tick(10));
        assert!(got.len() > 50, "some duplicates expected");
        assert!(
            got.windows(2).any(|w| w[0] > w[1]),
            "some reordering expected"
        );
        net.send(Tick(10), NodeId(1), NodeId(2), 99, &mut rng);
        net.cut_one_way(NodeId(1), NodeId(2));
        assert!(drain(&mut net, Tick(20)).is_empty());
    }
}
