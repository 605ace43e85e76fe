//! Exactly-once write tags. A server admits one write in flight per client id, so the
//! client keeps a pool of ids, one per write slot, each with its own sequence. A write
//! takes a slot and its next sequence once, and every retry of it reuses that same
//! `(client_id, sequence)`, so the shard applies it at most once and answers retries with
//! the result of that single application.

use std::sync::Mutex;

use dougdb_proto::v1::WriteTag;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::backoff::{Deadline, SharedRng};
use crate::{Error, Result};

/// One client id and the next sequence to use with it.
#[derive(Debug)]
struct Slot {
    client_id: u64,
    next_sequence: u64,
}

/// The pool of write slots.
#[derive(Debug)]
pub(crate) struct WriteSlots {
    permits: Semaphore,
    free: Mutex<Vec<Slot>>,
    rng: SharedRng,
}

/// A slot held by one write for all of its attempts.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    slots: &'a WriteSlots,
    slot: Option<Slot>,
    _permit: SemaphorePermit<'a>,
    /// The tag every attempt of this write carries.
    pub(crate) tag: WriteTag,
    /// Set when the outcome stayed unknown: the slot then gets a fresh client id, so a
    /// late copy of this write can never collide with the slot's next write.
    pub(crate) retire: bool,
}

impl WriteSlots {
    pub(crate) fn new(count: usize, rng: SharedRng) -> Self {
        let count = count.max(1);
        let free = (0..count)
            .map(|_| Slot {
                client_id: rng.client_id(),
                next_sequence: 1,
            })
            .collect();
        Self {
            permits: Semaphore::new(count),
            free: Mutex::new(free),
            rng,
        }
    }

    /// Waits (within `deadline`) for a free slot and takes its next sequence.
    pub(crate) async fn acquire(&self, deadline: Deadline) -> Result<Ticket<'_>> {
        let permit = tokio::time::timeout(deadline.remaining(), self.permits.acquire())
            .await
            .map_err(|_| Error::Timeout {
                deadline: deadline.budget,
            })?
            .map_err(|_| Error::protocol("the write slots were closed"))?;
        let mut slot = self
            .lock()
            .pop()
            .ok_or_else(|| Error::protocol("no free write slot although a permit was granted"))?;
        let tag = WriteTag {
            client_id: slot.client_id,
            sequence: slot.next_sequence,
        };
        slot.next_sequence += 1;
        Ok(Ticket {
            slots: self,
            slot: Some(slot),
            _permit: permit,
            tag,
            retire: false,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(mut slot) = self.slot.take() {
            if self.retire {
                slot.client_id = self.slots.rng.client_id();
                slot.next_sequence = 1;
            }
            self.slots.lock().push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sequences_increase_per_id_and_a_retired_slot_gets_a_new_id() {
        let slots = WriteSlots::new(1, SharedRng::new(Some(1)));
        let deadline = Deadline::after(Duration::from_secs(1));
        let first = slots.acquire(deadline).await.unwrap().tag;
        let second = {
            let mut t = slots.acquire(deadline).await.unwrap();
            t.retire = true;
            t.tag
        };
        let third = slots.acquire(deadline).await.unwrap().tag;
        assert_ne!(first.client_id, 0);
        assert_eq!((second.client_id, second.sequence), (first.client_id, 2));
        assert_ne!(third.client_id, first.client_id);
        assert_eq!(third.sequence, 1);
    }

    #[tokio::test]
    async fn concurrent_writes_hold_distinct_ids() {
        let slots = WriteSlots::new(2, SharedRng::new(Some(2)));
        let deadline = Deadline::after(Duration::from_secs(1));
        let a = slots.acquire(deadline).await.unwrap();
        let b = slots.acquire(deadline).await.unwrap();
        assert_ne!(a.tag.client_id, b.tag.client_id);
        let short = Deadline::after(Duration::from_millis(5));
        assert!(matches!(
            slots.acquire(short).await,
            Err(Error::Timeout { .. })
        ));
    }
}
