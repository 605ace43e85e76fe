//! A sharded LRU cache of decoded, checksum-verified blocks, keyed by (table, offset) and
//! bounded in bytes. Blocks are shared as `Arc`s: a hit costs a lock and a refcount, no
//! copy and no checksum.
//!
//! Table ids are never reused, so a key never names two different blocks; blocks of a
//! deleted table simply age out.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::block::Block;
use crate::lsm::policy::TableId;

/// Shards: enough that concurrent readers rarely meet on one lock.
const SHARDS: usize = 16;
/// Smallest capacity per shard: a small cache uses fewer shards, so a shard can always
/// hold many blocks (a block larger than its shard would never be cached).
const MIN_SHARD_BYTES: u64 = 1 << 20;
const NIL: usize = usize::MAX;

type Key = (TableId, u64);

/// Fx-style hasher: keys are two integers, so SipHash's DoS resistance buys nothing here.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug)]
struct Slot {
    key: Key,
    block: Option<Arc<Block>>,
    charge: u64,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// One LRU list with its map; slots are recycled through `free`.
#[derive(Debug)]
struct Shard {
    map: HashMap<Key, usize, BuildHasherDefault<KeyHasher>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used: evicted first.
    tail: usize,
    used_bytes: u64,
    capacity_bytes: u64,
}

impl Shard {
    fn new(capacity_bytes: u64) -> Self {
        Shard {
            map: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            used_bytes: 0,
            capacity_bytes,
        }
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.slots[i].prev, self.slots[i].next);
        match prev {
            NIL => self.head = next,
            p => self.slots[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n].prev = prev,
        }
    }

    fn push_front(&mut self, i: usize) {
        self.slots[i].prev = NIL;
        self.slots[i].next = self.head;
        match self.head {
            NIL => self.tail = i,
            h => self.slots[h].prev = i,
        }
        self.head = i;
    }

    fn get(&mut self, key: &Key) -> Option<Arc<Block>> {
        let i = *self.map.get(key)?;
        self.unlink(i);
        self.push_front(i);
        self.slots[i].block.clone()
    }

    fn insert(&mut self, key: Key, block: Arc<Block>) {
        let charge = block.size_bytes() as u64;
        if charge > self.capacity_bytes || self.map.contains_key(&key) {
            return;
        }
        while self.used_bytes + charge > self.capacity_bytes && self.tail != NIL {
            let victim = self.tail;
            self.unlink(victim);
            let slot = &mut self.slots[victim];
            slot.block = None;
            self.used_bytes -= slot.charge;
            let victim_key = slot.key;
            self.map.remove(&victim_key);
            self.free.push(victim);
        }
        let slot = Slot {
            key,
            block: Some(block),
            charge,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.push_front(i);
        self.map.insert(key, i);
        self.used_bytes += charge;
    }
}

/// A thread-safe, byte-bounded, sharded LRU of decoded blocks.
#[derive(Debug)]
pub struct BlockCache {
    shards: Box<[Mutex<Shard>]>,
    capacity_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl BlockCache {
    /// A cache holding up to `capacity_bytes` of blocks, split evenly over up to 16 shards
    /// of at least 1 MiB each.
    pub fn new(capacity_bytes: u64) -> Arc<Self> {
        let shards = (capacity_bytes / MIN_SHARD_BYTES).clamp(1, SHARDS as u64);
        let per_shard = capacity_bytes / shards;
        Arc::new(BlockCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard::new(per_shard)))
                .collect(),
            capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    fn shard(&self, key: &Key) -> &Mutex<Shard> {
        let mut h = KeyHasher::default();
        h.write_u64(key.0.0);
        h.write_u64(key.1);
        // The high bits of a multiplicative hash are the well-mixed ones.
        &self.shards[(h.finish() >> 60) as usize % self.shards.len()]
    }

    /// The cached block at `offset` of `table`, counting a hit or a miss.
    pub fn get(&self, table: TableId, offset: u64) -> Option<Arc<Block>> {
        let key = (table, offset);
        let found = self.shard(&key).lock().get(&key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches a block (a no-op if it is already cached or larger than a shard).
    pub fn insert(&self, table: TableId, offset: u64, block: Arc<Block>) {
        let key = (table, offset);
        self.shard(&key).lock().insert(key, block);
    }

    /// `(hits, misses)` since creation.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Bytes currently charged to cached blocks.
    pub fn usage_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().used_bytes).sum()
    }

    /// The configured bound.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// Number of cached blocks.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::{SeqNo, ValueKind, encode};
    use crate::lsm::sst::block_builder::BlockBuilder;

    fn block(value_len: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(16);
        b.add(&encode(b"k", SeqNo(1), ValueKind::Put), &vec![7; value_len]);
        Arc::new(Block::decode(b.finish()).unwrap())
    }

    #[test]
    fn counts_hits_and_misses() {
        let cache = BlockCache::new(1 << 20);
        assert!(cache.get(TableId(1), 0).is_none());
        cache.insert(TableId(1), 0, block(10));
        assert!(cache.get(TableId(1), 0).is_some());
        assert!(cache.get(TableId(2), 0).is_none());
        assert_eq!(cache.stats(), (1, 2));
    }

    #[test]
    fn stays_within_capacity_and_evicts_least_recent_first() {
        let one = block(100_000).size_bytes() as u64;
        // Sixteen shards of ten blocks each.
        let cache = BlockCache::new(16 * MIN_SHARD_BYTES);
        let per_shard = MIN_SHARD_BYTES / one;
        for off in 0..2000u64 {
            cache.insert(TableId(1), off, block(100_000));
            assert!(cache.usage_bytes() <= cache.capacity_bytes());
        }
        assert!(cache.len() as u64 <= per_shard * SHARDS as u64);
        assert!(cache.len() as u64 >= (per_shard - 1) * SHARDS as u64);
        // The most recent insert is always still there.
        assert!(cache.get(TableId(1), 1999).is_some());
    }

    #[test]
    fn touched_entries_survive_eviction() {
        let one = block(1000).size_bytes() as u64;
        // Small enough for one shard of two blocks.
        let cache = BlockCache::new(one * 2 + 1);
        // Find three offsets in the same shard, then use the first between inserts.
        let shard_of = |off: u64| cache.shard(&(TableId(9), off)) as *const _ as usize;
        let same: Vec<u64> = (0..1000)
            .filter(|&o| shard_of(o) == shard_of(0))
            .take(3)
            .collect();
        cache.insert(TableId(9), same[0], block(1000));
        cache.insert(TableId(9), same[1], block(1000));
        assert!(cache.get(TableId(9), same[0]).is_some());
        cache.insert(TableId(9), same[2], block(1000));
        assert!(cache.get(TableId(9), same[0]).is_some());
        assert!(cache.get(TableId(9), same[1]).is_none());
    }

    #[test]
    fn small_caches_use_fewer_shards_so_blocks_still_fit() {
        let cache = BlockCache::new(64 * 1024);
        assert_eq!(cache.shards.len(), 1);
        cache.insert(TableId(1), 0, block(4096));
        assert_eq!(cache.len(), 1);
        assert_eq!(BlockCache::new(1 << 40).shards.len(), SHARDS);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = BlockCache::new(0);
        cache.insert(TableId(1), 0, block(1));
        assert!(cache.is_empty());
    }
}
