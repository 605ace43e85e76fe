//! Snapshots: a registered sequence number that compactions must keep readable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::lsm::key::SeqNo;

/// The live snapshots of a database, and its visible sequence number.
///
/// Registration reads the visible sequence under the same lock a compaction takes to
/// compute its horizon, so a compaction either sees the snapshot or started with a
/// horizon at or below it.
#[derive(Debug, Default)]
pub struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
    /// Every write with a sequence number <= this is visible to readers.
    pub visible_seq: AtomicU64,
}

impl SnapshotList {
    /// Registers a snapshot of everything visible now.
    pub fn take(self: &Arc<Self>) -> Snapshot {
        let mut live = self.live.lock();
        let seq = self.visible_seq.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        Snapshot {
            seq: SeqNo(seq),
            list: Arc::clone(self),
        }
    }

    /// The oldest sequence number any reader may still ask for.
    pub fn horizon(&self) -> SeqNo {
        let live = self.live.lock();
        let visible = self.visible_seq.load(Ordering::Acquire);
        SeqNo(live.keys().next().copied().unwrap_or(visible).min(visible))
    }

    fn release(&self, seq: u64) {
        let mut live = self.live.lock();
        if let Some(n) = live.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                live.remove(&seq);
            }
        }
    }
}

/// A consistent read view: reads through it see exactly the writes with a sequence
/// number <= [`Snapshot::seq`]. Dropping it lets compactions discard what it pinned.
#[derive(Debug)]
pub struct Snapshot {
    seq: SeqNo,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// The snapshot's sequence number.
    pub fn seq(&self) -> SeqNo {
        self.seq
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        *self.list.live.lock().entry(self.seq.0).or_insert(0) += 1;
        Snapshot {
            seq: self.seq,
            list: Arc::clone(&self.list),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.seq.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizon_is_the_oldest_live_snapshot() {
        let list = Arc::new(SnapshotList::default());
        list.visible_seq.store(5, Ordering::Release);
        let a = list.take();
        list.visible_seq.store(9, Ordering::Release);
        let b = list.take();
        assert_eq!((a.seq(), b.seq()), (SeqNo(5), SeqNo(9)));
        assert_eq!(list.horizon(), SeqNo(5));
        drop(a);
        assert_eq!(list.horizon(), SeqNo(9));
        drop(b);
        list.visible_seq.store(12, Ordering::Release);
        assert_eq!(list.horizon(), SeqNo(12));
    }
}
