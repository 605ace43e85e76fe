//! The memtable's bloom filter over user keys: lets a point lookup skip the skip-list
//! search (a chain of cache misses, the top cost in readrandom profiles) for keys the
//! memtable does not hold. Same blocked layout and probe sequence as the table filter
//! (`sst/bloom.rs`), but in atomics, because readers probe while the writer adds.
//!
//! Visibility: the writer adds a key's bits *before* inserting its entry, and readers
//! only see an entry once its sequence number is published (Release, after the insert),
//! which they load (Acquire) before probing. So a reader that could see an entry also
//! sees its bits: a "no" is never wrong for anything the reader may return.

use std::sync::atomic::{AtomicU64, Ordering};

use super::sst::bloom::bloom_hash;

/// Bits per key (as the tables' default): about 1% false positives at full capacity.
const BITS_PER_KEY: u64 = 10;
/// Probes per key: `round(10 * ln 2)`.
const PROBES: u32 = 7;
/// 64-byte lines: all probes of a key touch one cache line.
const WORDS_PER_LINE: usize = 8;
/// Upper bound on the filter's size whatever the memtable size: 2^20 lines of 64 bytes,
/// 64 MiB of memory (reached by memtables of about 3 GiB; the default 64 MiB memtable
/// needs about 1.1 MiB).
const LINES_MAX: u64 = 1 << 20;

/// A concurrent, fixed-size, blocked bloom filter. A filter with no lines answers
/// "maybe" to everything (disabled).
#[derive(Debug)]
pub struct MemFilter {
    words: Box<[AtomicU64]>,
    num_lines: u32,
}

impl MemFilter {
    /// A filter for up to `keys_max` keys (more only raise the false-positive rate).
    pub fn with_capacity(keys_max: u64) -> Self {
        let lines = keys_max
            .saturating_mul(BITS_PER_KEY)
            .div_ceil(512)
            .min(LINES_MAX);
        let num_lines = u32::try_from(lines).unwrap_or(0);
        MemFilter {
            words: (0..num_lines as usize * WORDS_PER_LINE)
                .map(|_| AtomicU64::new(0))
                .collect(),
            num_lines,
        }
    }

    /// A filter that answers "maybe" to everything.
    pub fn disabled() -> Self {
        MemFilter {
            words: Box::new([]),
            num_lines: 0,
        }
    }

    fn line(&self, h: u64) -> Option<&[AtomicU64]> {
        let line = (((h >> 32) * u64::from(self.num_lines)) >> 32) as usize;
        self.words
            .get(line * WORDS_PER_LINE..)
            .and_then(|w| w.get(..WORDS_PER_LINE))
    }

    /// Adds `user_key`'s hash. Call before the entry becomes visible.
    pub fn add_hash(&self, h: u64) {
        let Some(line) = self.line(h) else { return };
        let mut a = h as u32;
        for _ in 0..PROBES {
            a = a.wrapping_mul(0x9E37_79B9);
            let bit = (a >> 23) as usize;
            line[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        }
    }

    /// False only if no key with this hash was added.
    pub fn may_contain_hash(&self, h: u64) -> bool {
        let Some(line) = self.line(h) else {
            return true;
        };
        let mut a = h as u32;
        for _ in 0..PROBES {
            a = a.wrapping_mul(0x9E37_79B9);
            let bit = (a >> 23) as usize;
            if line[bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) == 0 {
                return false;
            }
        }
        true
    }
}

/// The hash both filters use for a user key.
pub fn key_hash(user_key: &[u8]) -> u64 {
    bloom_hash(user_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let f = MemFilter::with_capacity(10_000);
        for i in 0..10_000u32 {
            f.add_hash(key_hash(&i.to_be_bytes()));
        }
        assert!((0..10_000u32).all(|i| f.may_contain_hash(key_hash(&i.to_be_bytes()))));
        let fp = (10_000..110_000u32)
            .filter(|i| f.may_contain_hash(key_hash(&i.to_be_bytes())))
            .count();
        assert!(fp < 2_000, "{fp} false positives in 100000");
    }

    #[test]
    fn disabled_and_zero_capacity_filters_say_maybe() {
        assert!(MemFilter::disabled().may_contain_hash(1));
        assert!(MemFilter::with_capacity(0).may_contain_hash(1));
    }
}
