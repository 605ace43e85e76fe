//! The read path: point gets newest first (memtables, level 0, one table per level),
//! and [`DbIter`], a scan over a consistent snapshot with tombstones hidden.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::inner::{Inner, SuperVersion};
use super::snapshot::Snapshot;
use crate::error::Result;
use crate::lsm::iter::InternalIterator;
use crate::lsm::key::{self, SEQ_MAX, SeqNo, ValueKind};
use crate::lsm::merge::{LevelIter, MergingIterator};

impl Inner {
    /// The newest value of `key` visible at `snapshot` in `sv`.
    pub fn get_in(
        &self,
        sv: &SuperVersion,
        key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<Vec<u8>>> {
        let mems = std::iter::once(&sv.mem).chain(sv.imm.iter());
        for mem in mems {
            if let Some((_, kind, value)) = mem.get(key, snapshot) {
                return Ok((kind == ValueKind::Put).then_some(value));
            }
        }
        Ok(match sv.version.get(key, snapshot)? {
            Some((_, ValueKind::Put, value)) => Some(value),
            _ => None,
        })
    }

    /// The latest value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_key(key)?;
        // View first, then sequence: the view holds every write up to the sequence read
        // after it, or a newer one (still filtered by the sequence).
        let sv = self.super_version();
        let snapshot = SeqNo(self.snapshots.visible_seq.load(Ordering::Acquire));
        self.get_in(&sv, key, snapshot)
    }

    /// A scan of `[lower, upper]` at `snapshot`.
    pub fn scan_at(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, snapshot: Snapshot) -> DbIter {
        let sv = self.super_version();
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        children.push(Box::new(sv.mem.iter()));
        for m in &sv.imm {
            children.push(Box::new(m.iter()));
        }
        for t in &sv.version.levels[0] {
            children.push(Box::new(t.reader.iter()));
        }
        for level in &sv.version.levels[1..] {
            if !level.is_empty() {
                children.push(Box::new(LevelIter::new(level.clone())));
            }
        }
        let own = |b: Bound<&[u8]>| match b {
            Bound::Included(k) => Bound::Included(k.to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        DbIter {
            inner: MergingIterator::new(children),
            lower: own(lower),
            upper: own(upper),
            snapshot,
            _sv: sv,
            started: false,
            advance: false,
            done: false,
            skip_key: None,
        }
    }
}

/// Key-ordered `(key, value)` pairs of a snapshot, tombstones and old versions hidden.
/// Holds the tables and memtables it reads alive until dropped.
pub struct DbIter {
    inner: MergingIterator,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    snapshot: Snapshot,
    _sv: Arc<SuperVersion>,
    started: bool,
    /// The cursor still sits on the entry last returned.
    advance: bool,
    done: bool,
    /// Versions of this user key are hidden (already returned, deleted, or excluded).
    skip_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for DbIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbIter")
            .field("snapshot", &self.snapshot.seq())
            .field("done", &self.done)
            .finish()
    }
}

impl DbIter {
    fn start(&mut self) -> Result<()> {
        self.started = true;
        match &self.lower {
            Bound::Unbounded => self.inner.seek_to_first(),
            Bound::Included(k) => self
                .inner
                .seek(&key::encode(k, SeqNo(SEQ_MAX), ValueKind::Put)),
            Bound::Excluded(k) => {
                self.skip_key = Some(k.clone());
                self.inner
                    .seek(&key::encode(k, SeqNo(SEQ_MAX), ValueKind::Put))
            }
        }
    }

    fn past_upper(&self, user_key: &[u8]) -> bool {
        match &self.upper {
            Bound::Unbounded => false,
            Bound::Included(k) => user_key > k.as_slice(),
            Bound::Excluded(k) => user_key >= k.as_slice(),
        }
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if !self.started {
            self.start()?;
        }
        if self.advance {
            self.advance = false;
            self.inner.next()?;
        }
        let snap = self.snapshot.seq();
        while self.inner.valid() {
            let Some(parsed) = key::decode(self.inner.key()) else {
                return Err(crate::error::Error::corruption(
                    "scan",
                    0,
                    "malformed internal key",
                ));
            };
            if parsed.seq > snap || self.skip_key.as_deref() == Some(parsed.user_key) {
                self.inner.next()?;
                continue;
            }
            if self.past_upper(parsed.user_key) {
                return Ok(None);
            }
            self.skip_key = Some(parsed.user_key.to_vec());
            if parsed.kind == ValueKind::Delete {
                self.inner.next()?;
                continue;
            }
            self.advance = true;
            return Ok(Some((
                parsed.user_key.to_vec(),
                self.inner.value().to_vec(),
            )));
        }
        Ok(None)
    }
}

impl Iterator for DbIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(kv)) => Some(Ok(kv)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
