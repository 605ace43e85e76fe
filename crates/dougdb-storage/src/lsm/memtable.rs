//! The memtable: a concurrent skip list of internal keys, written by one writer at a time
//! and read by any number of readers without locks.
//!
//! Each entry is a single allocation holding the encoded internal key followed by the
//! value, so an insert costs one allocation and one skip-list insert.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crossbeam_skiplist::SkipSet;

use super::iter::InternalIterator;
use super::key::{self, SeqNo, TRAILER_LEN, ValueKind};
use super::mem_filter::{MemFilter, key_hash};
use crate::error::Result;

/// Bookkeeping bytes charged per entry on top of key and value (skip-list node, tower,
/// allocation header), so that many tiny entries still trigger a switch.
const ENTRY_OVERHEAD_BYTES: u64 = 64;

/// One memtable entry: `buf = internal key ++ value`.
///
/// `prefix` caches the user key's first [`PREFIX_LEN`] bytes inside the skip-list node
/// itself: a search compares prefixes without following `buf` to another cache line, and
/// only the nodes whose prefix ties (usually just the one found) pay that second miss.
/// Profiles of readrandom showed the pointer chase per visited node as the top cost.
#[derive(Debug)]
struct Entry {
    prefix: KeyPrefix,
    buf: Box<[u8]>,
    key_len: u32,
}

/// Bytes of the user key kept inline in a skip-list node.
const PREFIX_LEN: usize = 16;

/// The first `PREFIX_LEN` bytes of a user key, zero-padded, as a big-endian integer, so
/// integer order agrees with byte order wherever two prefixes differ: if they differ at
/// byte i, either both keys have a byte there (and the earlier bytes are equal), or the
/// shorter key ended before i and the other key's byte there is non-zero, so the shorter
/// key is a proper prefix and smaller. Equal prefixes decide nothing (`"a"` vs `"a\0"`);
/// then the full keys are compared. `None` for a malformed internal key (shorter than a
/// trailer), which is only ever ordered by the full comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyPrefix(Option<u128>);

impl KeyPrefix {
    fn of_internal_key(internal_key: &[u8]) -> Self {
        let Some(user_len) = internal_key.len().checked_sub(TRAILER_LEN) else {
            return KeyPrefix(None);
        };
        let mut raw = [0u8; PREFIX_LEN];
        let n = user_len.min(PREFIX_LEN);
        raw[..n].copy_from_slice(&internal_key[..n]);
        KeyPrefix(Some(u128::from_be_bytes(raw)))
    }
}

impl Entry {
    fn new(user_key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(user_key.len() + TRAILER_LEN + value.len());
        key::encode_into(&mut buf, user_key, seq, kind);
        let key_len = buf.len() as u32;
        buf.extend_from_slice(value);
        Entry {
            prefix: KeyPrefix::of_internal_key(&buf[..key_len as usize]),
            buf: buf.into_boxed_slice(),
            key_len,
        }
    }

    /// A key-only entry to search with; takes the buffer to avoid a copy.
    fn probe(internal_key: Vec<u8>) -> Self {
        Entry {
            prefix: KeyPrefix::of_internal_key(&internal_key),
            key_len: internal_key.len() as u32,
            buf: internal_key.into_boxed_slice(),
        }
    }

    fn key(&self) -> &[u8] {
        &self.buf[..self.key_len as usize]
    }

    fn value(&self) -> &[u8] {
        &self.buf[self.key_len as usize..]
    }
}

/// Compares two encoded internal keys built by this module (always >= a trailer long):
/// user key ascending, then trailer (sequence, kind) descending.
fn compare_keys(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() < TRAILER_LEN || b.len() < TRAILER_LEN {
        return key::compare(a, b);
    }
    let (ua, ta) = a.split_at(a.len() - TRAILER_LEN);
    let (ub, tb) = b.split_at(b.len() - TRAILER_LEN);
    ua.cmp(ub).then_with(|| {
        let ta = u64::from_le_bytes(ta.try_into().unwrap_or([0; 8]));
        let tb = u64::from_le_bytes(tb.try_into().unwrap_or([0; 8]));
        tb.cmp(&ta)
    })
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        if let (Some(a), Some(b)) = (self.prefix.0, other.prefix.0)
            && a != b
        {
            return a.cmp(&b);
        }
        compare_keys(self.key(), other.key())
    }
}

/// A sorted in-memory table of recent writes.
#[derive(Debug)]
pub struct Memtable {
    id: u64,
    set: SkipSet<Entry>,
    /// Every inserted user key; lets `get` skip the search for absent keys.
    filter: MemFilter,
    size_bytes: AtomicU64,
    max_seq: AtomicU64,
    applied_index_max: AtomicU64,
}

impl Memtable {
    /// An empty memtable without a key filter; `id` orders memtables by age (larger is
    /// newer).
    pub fn new(id: u64) -> Self {
        Self::with_filter(id, MemFilter::disabled())
    }

    /// An empty memtable whose key filter is sized for `size_bytes_max` of charged
    /// entries (the switch threshold).
    pub fn with_capacity(id: u64, size_bytes_max: u64) -> Self {
        let smallest_charge = ENTRY_OVERHEAD_BYTES + TRAILER_LEN as u64 + 1;
        Self::with_filter(
            id,
            MemFilter::with_capacity(size_bytes_max / smallest_charge),
        )
    }

    fn with_filter(id: u64, filter: MemFilter) -> Self {
        Memtable {
            id,
            set: SkipSet::new(),
            filter,
            size_bytes: AtomicU64::new(0),
            max_seq: AtomicU64::new(0),
            applied_index_max: AtomicU64::new(0),
        }
    }

    /// The memtable's age id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Inserts one version. Callers serialise inserts (one writer at a time) and never
    /// reuse a sequence number for the same key.
    pub fn insert(&self, user_key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) {
        let charge = (user_key.len() + TRAILER_LEN + value.len()) as u64 + ENTRY_OVERHEAD_BYTES;
        // Bits first: a reader that can see the entry must see them (mem_filter.rs).
        self.filter.add_hash(key_hash(user_key));
        self.set.insert(Entry::new(user_key, seq, kind, value));
        self.size_bytes.fetch_add(charge, AtomicOrdering::Relaxed);
        self.max_seq.fetch_max(seq.0, AtomicOrdering::Relaxed);
    }

    /// Records that this memtable holds writes up to a caller's applied index.
    pub fn note_applied_index(&self, index: u64) {
        self.applied_index_max
            .fetch_max(index, AtomicOrdering::Relaxed);
    }

    /// Highest applied index noted, 0 if none.
    pub fn applied_index_max(&self) -> u64 {
        self.applied_index_max.load(AtomicOrdering::Relaxed)
    }

    /// Approximate memory charged so far.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes.load(AtomicOrdering::Relaxed)
    }

    /// Highest sequence number inserted, 0 if empty.
    pub fn max_seq(&self) -> SeqNo {
        SeqNo(self.max_seq.load(AtomicOrdering::Relaxed))
    }

    /// Number of entries (versions).
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The newest version of `user_key` with seq <= `snapshot`.
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
        if !self.filter.may_contain_hash(key_hash(user_key)) {
            return None;
        }
        let probe = Entry::probe(key::seek_key(user_key, snapshot));
        let entry = self.set.lower_bound(Bound::Included(&probe))?;
        let parsed = key::decode(entry.value().key())?;
        if parsed.user_key != user_key {
            return None;
        }
        Some((parsed.seq, parsed.kind, entry.value().value().to_vec()))
    }

    /// Calls `f` for every entry in internal-key order (used by flush).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        for e in self.set.iter() {
            f(e.value().key(), e.value().value())?;
        }
        Ok(())
    }

    /// A cursor over this memtable, keeping it alive.
    pub fn iter(self: &Arc<Self>) -> MemIter {
        MemIter {
            mem: Arc::clone(self),
            buf: Vec::new(),
            len: 0,
            pos: 0,
            exhausted: true,
            refill: REFILL_MIN,
        }
    }
}

/// First batch after a seek: small, because a short scan (seek + a few nexts over a
/// merge of several sources) takes only a few entries from each memtable, and copying 16
/// was 40% of seekrandom's time. Batches double up to `REFILL_MAX` for long scans.
const REFILL_MIN: usize = 4;
const REFILL_MAX: usize = 256;

/// A cursor over a memtable. The skip list's own cursors borrow it, so this one copies
/// entries out in growing batches and re-seeks past the last copied key to refill.
#[derive(Debug)]
pub struct MemIter {
    mem: Arc<Memtable>,
    /// `buf[..len]` is the current batch; slots past `len` keep their allocations for
    /// reuse by the next refill.
    buf: Vec<(Vec<u8>, Vec<u8>)>,
    len: usize,
    pos: usize,
    /// True when the batch in `buf` reached the end of the memtable.
    exhausted: bool,
    refill: usize,
}

impl MemIter {
    fn fill_from(&mut self, bound: Bound<&Entry>) {
        self.len = 0;
        self.pos = 0;
        let mut cur = self.mem.set.lower_bound(bound);
        while let Some(e) = cur {
            if self.len == self.refill {
                self.exhausted = false;
                self.refill = (self.refill * 2).min(REFILL_MAX);
                return;
            }
            if self.len == self.buf.len() {
                self.buf.push((Vec::new(), Vec::new()));
            }
            let (k, v) = &mut self.buf[self.len];
            k.clear();
            k.extend_from_slice(e.value().key());
            v.clear();
            v.extend_from_slice(e.value().value());
            self.len += 1;
            cur = e.next();
        }
        self.exhausted = true;
    }
}

impl InternalIterator for MemIter {
    fn valid(&self) -> bool {
        self.pos < self.len
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.refill = REFILL_MIN;
        self.fill_from(Bound::Unbounded);
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.refill = REFILL_MIN;
        let probe = Entry::probe(target.to_vec());
        self.fill_from(Bound::Included(&probe));
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if self.pos >= self.len {
            return Ok(());
        }
        self.pos += 1;
        if self.pos == self.len && !self.exhausted {
            let last = Entry::probe(self.buf[self.pos - 1].0.clone());
            self.fill_from(Bound::Excluded(&last));
        }
        Ok(())
    }

    fn key(&self) -> &[u8] {
        match self.buf.get(self.pos) {
            Some((k, _)) if self.pos < self.len => k,
            _ => &[],
        }
    }

    fn value(&self) -> &[u8] {
        match self.buf.get(self.pos) {
            Some((_, v)) if self.pos < self.len => v,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The inline prefix never changes the order: it agrees with the full comparison
        /// (keys from a tiny alphabet with zero bytes, around the prefix length).
        #[test]
        fn prefix_order_agrees_with_full_order(
            a in proptest::collection::vec(0u8..3, 0..20),
            b in proptest::collection::vec(0u8..3, 0..20),
            sa in 0u64..4,
            sb in 0u64..4,
        ) {
            let ea = Entry::new(&a, SeqNo(sa), ValueKind::Put, b"v");
            let eb = Entry::new(&b, SeqNo(sb), ValueKind::Delete, b"");
            prop_assert_eq!(ea.cmp(&eb), compare_keys(ea.key(), eb.key()));
            let pa = Entry::probe(ea.key()[..a.len().min(5)].to_vec());
            prop_assert_eq!(pa.cmp(&eb), compare_keys(pa.key(), eb.key()));
        }
    }

    fn collect(it: &mut MemIter) -> Vec<(Vec<u8>, SeqNo, Vec<u8>)> {
        let mut out = Vec::new();
        while it.valid() {
            let p = key::decode(it.key()).unwrap();
            out.push((p.user_key.to_vec(), p.seq, it.value().to_vec()));
            it.next().unwrap();
        }
        out
    }

    #[test]
    fn get_returns_newest_version_visible_at_snapshot() {
        let m = Memtable::new(1);
        m.insert(b"k", SeqNo(1), ValueKind::Put, b"v1");
        m.insert(b"k", SeqNo(3), ValueKind::Put, b"v3");
        m.insert(b"k", SeqNo(5), ValueKind::Delete, b"");
        assert_eq!(m.get(b"k", SeqNo(2)).unwrap().2, b"v1");
        assert_eq!(m.get(b"k", SeqNo(4)).unwrap().2, b"v3");
        assert_eq!(m.get(b"k", SeqNo(9)).unwrap().1, ValueKind::Delete);
        assert!(m.get(b"k", SeqNo(0)).is_none());
        assert!(m.get(b"j", SeqNo(9)).is_none());
        assert!(m.get(b"kk", SeqNo(9)).is_none());
        assert_eq!(m.max_seq(), SeqNo(5));
    }

    #[test]
    fn iter_is_in_internal_key_order_across_refills() {
        let m = Arc::new(Memtable::new(1));
        for i in 0..1000u32 {
            m.insert(
                &i.to_be_bytes(),
                SeqNo(u64::from(i) + 1),
                ValueKind::Put,
                b"x",
            );
        }
        m.insert(&7u32.to_be_bytes(), SeqNo(5000), ValueKind::Put, b"new");
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        let all = collect(&mut it);
        assert_eq!(all.len(), 1001);
        assert_eq!(all[7].2, b"new", "newest version of a key comes first");
        for w in all.windows(2) {
            assert!(w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 > w[1].1));
        }
        let mut it = m.iter();
        it.seek(&key::seek_key(&500u32.to_be_bytes(), SeqNo(u64::MAX >> 8)))
            .unwrap();
        assert_eq!(collect(&mut it).len(), 500);
    }
}
