//! Deadlines and retry delays: exponential backoff with full jitter, never past the
//! call's deadline.

use std::time::Duration;

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// The client's one RNG (client ids, jitter, replica choice): seeded for replayable
/// tests, else from the OS.
#[derive(Debug, Clone)]
pub(crate) struct SharedRng(Arc<Mutex<StdRng>>);

impl SharedRng {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self(Arc::new(Mutex::new(rng)))
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        // A panic while holding the lock leaves a usable RNG.
        let mut rng = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut rng)
    }

    /// A fresh non-zero client id (0 means "untagged" on the wire).
    pub(crate) fn client_id(&self) -> u64 {
        self.with(|rng| rng.random_range(1..=u64::MAX))
    }
}

/// When a call must be done by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    /// The timeout the deadline was made from, for error messages.
    pub(crate) budget: Duration,
}

impl Deadline {
    pub(crate) fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            budget,
        }
    }

    /// Time left; zero once passed.
    pub(crate) fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.at
    }
}

/// Retry delays of one call: `initial * 2^n`, capped at `max`, each drawn uniformly from
/// `[0, cap]` (full jitter) so that clients retrying together spread out.
#[derive(Debug)]
pub(crate) struct Backoff {
    next_cap: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            next_cap: initial.min(max),
            max,
        }
    }

    /// The next delay, using `rng` for the jitter.
    pub(crate) fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let cap = self.next_cap;
        self.next_cap = (cap * 2).min(self.max);
        let cap_us = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rng.random_range(0..=cap_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_doubling_cap_that_stops_at_max() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(80));
        let caps = [10, 20, 40, 80, 80, 80];
        for cap in caps {
            assert!(backoff.next_delay(&mut rng) <= Duration::from_millis(cap));
        }
    }
}
