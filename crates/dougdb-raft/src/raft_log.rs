//! `RaftLog`: the node's view of the log = the persisted `LogStore` plus the unstable tail
//! (entries and possibly a received snapshot) that the caller has not persisted yet, and the
//! commit and apply cursors. Consistency check and conflict resolution live here.

use crate::error::{Error, Result};
use crate::storage::LogStore;
use crate::types::{Entry, LogIndex, Snapshot, Term};

/// The log as Raft sees it.
#[derive(Debug)]
pub struct RaftLog<S> {
    /// Persisted part (written by the caller while carrying out a `Ready`).
    pub store: S,
    /// Entries not yet persisted; `unstable[k].index == offset + k`. They shadow any
    /// stored entries at the same or later indexes.
    unstable: Vec<Entry>,
    offset: LogIndex,
    /// A snapshot received from the leader and not yet persisted.
    pub unstable_snapshot: Option<Snapshot>,
    /// Highest index known committed.
    pub committed: LogIndex,
    /// Highest index handed to the application and acknowledged by `advance`.
    pub applied: LogIndex,
}

impl<S: LogStore> RaftLog<S> {
    /// Wraps a store; `committed` comes from the hard state, `applied` from the config.
    pub fn new(store: S, committed: LogIndex, applied: LogIndex) -> Result<RaftLog<S>> {
        let last = store.last_index()?;
        let snap_index = store.first_index()?.prev();
        if committed > last {
            return Err(Error::InvalidArgument {
                reason: "hard state commit past last index",
                index: committed,
            });
        }
        let applied = applied.max(snap_index);
        if applied > committed.max(snap_index) {
            return Err(Error::InvalidArgument {
                reason: "applied past commit",
                index: applied,
            });
        }
        Ok(RaftLog {
            store,
            unstable: Vec::new(),
            offset: last.next(),
            unstable_snapshot: None,
            committed: committed.max(snap_index),
            applied,
        })
    }

    /// First index still held as an entry.
    pub fn first_index(&self) -> Result<LogIndex> {
        match &self.unstable_snapshot {
            Some(s) => Ok(s.metadata.index.next()),
            None => self.store.first_index(),
        }
    }

    /// Last index of the log.
    pub fn last_index(&self) -> Result<LogIndex> {
        if !self.unstable.is_empty() {
            return Ok(self.offset.plus(self.unstable.len() as u64 - 1));
        }
        match &self.unstable_snapshot {
            Some(s) => Ok(s.metadata.index),
            None => self.store.last_index(),
        }
    }

    /// Last index known to be persisted locally and to agree with the log.
    pub fn persisted_last_index(&self) -> Result<LogIndex> {
        if !self.unstable.is_empty() {
            return Ok(self.offset.prev());
        }
        self.last_index()
    }

    /// Term at `index`, or `Compacted` / `Unavailable`.
    pub fn term(&self, index: LogIndex) -> Result<Term> {
        if let Some(s) = self
            .unstable_snapshot
            .as_ref()
            .filter(|s| s.metadata.index == index)
        {
            return Ok(s.metadata.term);
        }
        let first = self.first_index()?;
        if index < first.prev() {
            return Err(Error::Compacted { index });
        }
        if index > self.last_index()? {
            return Err(Error::Unavailable { index });
        }
        if index >= self.offset && !self.unstable.is_empty() {
            return Ok(self.unstable[(index.0 - self.offset.0) as usize].term);
        }
        self.store.term(index)
    }

    /// Term at `index`, `None` when compacted or past the end (storage failures propagate).
    pub fn term_opt(&self, index: LogIndex) -> Result<Option<Term>> {
        match self.term(index) {
            Ok(t) => Ok(Some(t)),
            Err(Error::Compacted { .. } | Error::Unavailable { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the entry at `index` has term `term`.
    pub fn match_term(&self, index: LogIndex, term: Term) -> Result<bool> {
        Ok(self.term_opt(index)? == Some(term))
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> Result<Term> {
        self.term(self.last_index()?)
    }

    /// Entries `[lo, hi)` up to `max_bytes` (at least one when `lo < hi`).
    pub fn entries(&self, lo: LogIndex, hi: LogIndex, max_bytes: u64) -> Result<Vec<Entry>> {
        if lo < self.first_index()? {
            return Err(Error::Compacted { index: lo });
        }
        if hi > self.last_index()?.next() {
            return Err(Error::Unavailable { index: hi.prev() });
        }
        let mut out = Vec::new();
        if lo >= hi {
            return Ok(out);
        }
        let mut size = 0u64;
        if lo < self.offset {
            out = self.store.entries(lo, hi.min(self.offset), max_bytes)?;
            size = out.iter().map(Entry::size_bytes).sum();
            if out.len() as u64 != hi.min(self.offset).0 - lo.0 {
                return Ok(out);
            }
        }
        let start = lo.max(self.offset);
        for idx in start.0..hi.0 {
            let e = &self.unstable[(idx - self.offset.0) as usize];
            size = size.saturating_add(e.size_bytes());
            if !out.is_empty() && size > max_bytes {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    /// Unstable entries the caller must persist.
    pub fn unstable_entries(&self) -> &[Entry] {
        &self.unstable
    }

    /// Appends `entries` (consecutive), replacing any entries at or after the first one.
    /// Panics (safety) if that would remove a committed entry.
    pub fn append(&mut self, entries: &[Entry]) -> Result<LogIndex> {
        let Some(first) = entries.first() else {
            return self.last_index();
        };
        let after = first.index;
        assert!(
            after > self.committed,
            "safety: appending at {after} would overwrite committed entries (commit {})",
            self.committed
        );
        let end = self.offset.plus(self.unstable.len() as u64);
        if after == end {
            self.unstable.extend_from_slice(entries);
        } else if after <= self.offset {
            self.offset = after;
            self.unstable = entries.to_vec();
        } else {
            self.unstable.truncate((after.0 - self.offset.0) as usize);
            self.unstable.extend_from_slice(entries);
        }
        self.last_index()
    }

    /// Index of the first of `entries` that is not already in the log with the same
    /// term (`None`: all present).
    pub fn find_conflict(&self, entries: &[Entry]) -> Result<Option<LogIndex>> {
        for e in entries {
            if !self.match_term(e.index, e.term)? {
                return Ok(Some(e.index));
            }
        }
        Ok(None)
    }

    /// Raises the commit index (never lowers it).
    pub fn commit_to(&mut self, index: LogIndex) -> Result<()> {
        if index > self.committed {
            let last = self.last_index()?;
            assert!(
                index <= last,
                "safety: commit {index} past last index {last}"
            );
            self.committed = index;
        }
        Ok(())
    }

    /// Leader: commit `index` if it is of the current term (Figure 8: entries of earlier
    /// terms are only committed indirectly).
    pub fn maybe_commit(&mut self, index: LogIndex, term: Term) -> Result<bool> {
        if index > self.committed && self.term_opt(index)? == Some(term) {
            self.commit_to(index)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Fast-backtracking hint: the largest index `<= index` whose term is `<= term`, and
    /// its term (term 0 if unknown because compacted).
    pub fn find_conflict_by_term(&self, index: LogIndex, term: Term) -> Result<(LogIndex, Term)> {
        let mut i = index;
        loop {
            match self.term_opt(i)? {
                None => return Ok((i, Term(0))),
                Some(t) if t <= term || i == LogIndex(0) => return Ok((i, t)),
                Some(_) => i = i.prev(),
            }
        }
    }

    /// Whether a candidate's log (last index/term) is at least as up to date as ours.
    pub fn is_up_to_date(&self, last_index: LogIndex, last_term: Term) -> Result<bool> {
        let my_term = self.last_term()?;
        Ok(last_term > my_term || (last_term == my_term && last_index >= self.last_index()?))
    }

    /// Marks unstable entries up to `index` persisted, if `index` still has `term`.
    pub fn stable_to(&mut self, index: LogIndex, term: Term) {
        if index < self.offset || self.unstable.is_empty() {
            return;
        }
        let k = (index.0 - self.offset.0) as usize;
        if k < self.unstable.len() && self.unstable[k].term == term {
            self.unstable.drain(..=k);
            self.offset = index.next();
        }
    }

    /// Marks the unstable snapshot at `index` persisted.
    pub fn stable_snapshot_to(&mut self, index: LogIndex) {
        if self
            .unstable_snapshot
            .as_ref()
            .is_some_and(|s| s.metadata.index == index)
        {
            self.unstable_snapshot = None;
        }
    }

    /// Replaces the log with a received snapshot (persisted by the caller via `Ready`).
    pub fn restore(&mut self, snapshot: Snapshot) {
        self.committed = snapshot.metadata.index;
        self.unstable.clear();
        self.offset = snapshot.metadata.index.next();
        self.unstable_snapshot = Some(snapshot);
    }

    /// Committed entries not yet handed to the application, up to `max_bytes`.
    pub fn next_committed_entries(&self, max_bytes: u64) -> Result<Vec<Entry>> {
        if !self.has_next_committed_entries()? {
            return Ok(Vec::new());
        }
        let lo = self.applied.next().max(self.first_index()?);
        self.entries(lo, self.committed.next(), max_bytes)
    }

    /// Whether there are committed entries to hand out.
    pub fn has_next_committed_entries(&self) -> Result<bool> {
        Ok(self.unstable_snapshot.is_none() && self.committed > self.applied)
    }

    /// The application has applied up to `index`.
    pub fn applied_to(&mut self, index: LogIndex) {
        assert!(
            index <= self.committed,
            "applied {index} past commit {}",
            self.committed
        );
        self.applied = self.applied.max(index);
    }

    /// The whole log (snapshot excluded), for tests and invariant checkers.
    pub fn all_entries(&self) -> Result<Vec<Entry>> {
        self.entries(self.first_index()?, self.last_index()?.next(), u64::MAX)
    }
}
