//! Merging iterators: [`MergingIterator`] merges any children (memtables, level-0
//! tables, levels) into one internal-key order; [`LevelIter`] walks one sorted level
//! (disjoint tables) opening one table at a time.
//!
//! Ties (the same internal key in two children, which only a replayed-and-reflushed
//! write can cause) go to the child listed first, so children are given newest first.

use std::cmp::Ordering;
use std::sync::Arc;

use super::iter::InternalIterator;
use super::key;
use super::version::Table;
use crate::error::Result;

/// A min-heap merge of children by internal key, then child index.
pub struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    /// Indices of valid children, a binary min-heap.
    heap: Vec<usize>,
}

impl std::fmt::Debug for MergingIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergingIterator")
            .field("children", &self.children.len())
            .field("live", &self.heap.len())
            .finish()
    }
}

impl MergingIterator {
    /// Merges `children`, newest first.
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergingIterator {
            heap: Vec::with_capacity(children.len()),
            children,
        }
    }

    fn less(&self, a: usize, b: usize) -> bool {
        let (ca, cb) = (&self.children[a], &self.children[b]);
        match key::compare(ca.key(), cb.key()) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a < b,
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && self.less(self.heap[l], self.heap[m]) {
                m = l;
            }
            if r < n && self.less(self.heap[r], self.heap[m]) {
                m = r;
            }
            if m == i {
                return;
            }
            self.heap.swap(i, m);
            i = m;
        }
    }

    fn rebuild(&mut self) {
        self.heap.clear();
        self.heap
            .extend((0..self.children.len()).filter(|i| self.children[*i].valid()));
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    fn each_child(
        &mut self,
        mut f: impl FnMut(&mut dyn InternalIterator) -> Result<()>,
    ) -> Result<()> {
        for c in &mut self.children {
            if let Err(e) = f(c.as_mut()) {
                self.heap.clear();
                return Err(e);
            }
        }
        self.rebuild();
        Ok(())
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        !self.heap.is_empty()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.each_child(|c| c.seek_to_first())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.each_child(|c| c.seek(target))
    }

    fn next(&mut self) -> Result<()> {
        let Some(&top) = self.heap.first() else {
            return Ok(());
        };
        if let Err(e) = self.children[top].next() {
            self.heap.clear();
            return Err(e);
        }
        if !self.children[top].valid() {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
        }
        self.sift_down(0);
        Ok(())
    }

    fn key(&self) -> &[u8] {
        self.heap.first().map_or(&[], |i| self.children[*i].key())
    }

    fn value(&self) -> &[u8] {
        self.heap.first().map_or(&[], |i| self.children[*i].value())
    }
}

/// Walks a sorted level of disjoint tables, one open table iterator at a time.
pub struct LevelIter {
    tables: Vec<Arc<Table>>,
    index: usize,
    current: Option<Box<dyn InternalIterator>>,
}

impl std::fmt::Debug for LevelIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelIter")
            .field("tables", &self.tables.len())
            .field("index", &self.index)
            .finish()
    }
}

impl LevelIter {
    /// Walks `tables` (sorted by key, disjoint).
    pub fn new(tables: Vec<Arc<Table>>) -> Self {
        LevelIter {
            tables,
            index: 0,
            current: None,
        }
    }

    fn open(&mut self, index: usize) -> Option<&mut Box<dyn InternalIterator>> {
        self.index = index;
        self.current = self
            .tables
            .get(index)
            .map(|t| Box::new(t.reader.iter()) as Box<dyn InternalIterator>);
        self.current.as_mut()
    }

    /// Moves to following tables while the current one is exhausted.
    fn skip_empty(&mut self) -> Result<()> {
        while self.current.as_ref().is_some_and(|c| !c.valid()) {
            let next = self.index + 1;
            match self.open(next) {
                Some(c) => c.seek_to_first()?,
                None => return Ok(()),
            }
        }
        Ok(())
    }
}

impl InternalIterator for LevelIter {
    fn valid(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.valid())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        if let Some(c) = self.open(0) {
            c.seek_to_first()?;
        }
        self.skip_empty()
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let i = self
            .tables
            .partition_point(|t| key::compare(&t.meta.largest_key, target) == Ordering::Less);
        if let Some(c) = self.open(i) {
            c.seek(target)?;
        }
        self.skip_empty()
    }

    fn next(&mut self) -> Result<()> {
        if let Some(c) = self.current.as_mut() {
            c.next()?;
        }
        self.skip_empty()
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.key())
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{SeqNo, ValueKind};
    use crate::lsm::memtable::Memtable;

    #[test]
    fn merges_in_internal_key_order_newest_first() {
        let a = Arc::new(Memtable::new(2));
        let b = Arc::new(Memtable::new(1));
        a.insert(b"b", SeqNo(10), ValueKind::Put, b"a-b");
        a.insert(b"d", SeqNo(11), ValueKind::Delete, b"");
        b.insert(b"a", SeqNo(1), ValueKind::Put, b"b-a");
        b.insert(b"b", SeqNo(2), ValueKind::Put, b"b-b");
        b.insert(b"d", SeqNo(3), ValueKind::Put, b"b-d");
        let mut m = MergingIterator::new(vec![Box::new(a.iter()), Box::new(b.iter())]);
        m.seek_to_first().unwrap();
        let mut got = Vec::new();
        while m.valid() {
            let p = key::decode(m.key()).unwrap();
            got.push((p.user_key.to_vec(), p.seq.0));
            m.next().unwrap();
        }
        let want: Vec<(Vec<u8>, u64)> = vec![
            (b"a".to_vec(), 1),
            (b"b".to_vec(), 10),
            (b"b".to_vec(), 2),
            (b"d".to_vec(), 11),
            (b"d".to_vec(), 3),
        ];
        assert_eq!(got, want);
        m.seek(&key::seek_key(b"c", SeqNo(100))).unwrap();
        assert_eq!(key::decode(m.key()).unwrap().seq, SeqNo(11));
    }
}
