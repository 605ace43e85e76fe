//! A cache-line-blocked bloom filter over *user* keys: every probe of one key lands in the
//! same 64-byte line, so a lookup costs one cache miss instead of `k`.
//!
//! Filter block body (fixed-width, little endian):
//!
//! ```text
//! +--------------------------------+------------------+-------------------+
//! | lines: num_lines x 64 bytes    | num_lines u32 LE | num_probes u32 LE |
//! +--------------------------------+------------------+-------------------+
//! ```
//!
//! For a key with hash `h = bloom_hash(user_key)`: line = `((h >> 32) * num_lines) >> 32`;
//! with `a = h as u32`, each of `num_probes` probes does `a = a * 0x9E3779B9 (wrapping)`
//! and sets bit `a >> 23` (0..512) of the line, bit `b` living in byte `b / 8` under mask
//! `1 << (b % 8)`. `num_probes = 0` means "no filter": every key may be present.

use super::format::{DecodeError, DecodeResult, read_u32};

/// Bytes per filter line (one cache line).
const LINE_BYTES: usize = 64;
/// Bits per line.
const LINE_BITS: u32 = 512;
/// Upper bound on probes: beyond this more probes only cost time.
const MAX_PROBES: u32 = 30;
/// Fixed tail after the lines.
const TAIL_LEN: usize = 8;

const P1: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED: u64 = 0x243F_6A88_85A3_08D3;

/// The filter's 64-bit hash of a user key. Part of the on-disk format: changing it makes
/// every existing filter answer wrongly.
///
/// `h = SEED ^ (len * P1)`; for each 8-byte little-endian chunk `w` of the key (the last
/// one zero-padded): `h = rotl((h ^ w) * P1, 29)`; then the splitmix64 finalizer.
/// Mixing the length in first keeps the zero padding unambiguous.
#[inline]
pub fn bloom_hash(key: &[u8]) -> u64 {
    let mut h = SEED ^ (key.len() as u64).wrapping_mul(P1);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(P1).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(P1).rotate_left(29);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Probes per key for a bits-per-key budget: about `bits_per_key * ln 2`, the optimum.
pub fn probes_for(bits_per_key: u32) -> u32 {
    (bits_per_key.saturating_mul(69).saturating_add(50) / 100).clamp(1, MAX_PROBES)
}

/// Collects key hashes while a table is built, then lays out the filter.
#[derive(Debug)]
pub struct BloomBuilder {
    bits_per_key: u32,
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// A builder spending `bits_per_key` bits per distinct key; 0 disables the filter.
    pub fn new(bits_per_key: u32) -> Self {
        BloomBuilder {
            bits_per_key,
            hashes: Vec::new(),
        }
    }

    /// Adds a user key. Versions of one key arrive together, so a repeat of the last hash
    /// is skipped: it would set the same bits and inflate the size.
    pub fn add_key(&mut self, user_key: &[u8]) {
        if self.bits_per_key == 0 {
            return;
        }
        let h = bloom_hash(user_key);
        if self.hashes.last() != Some(&h) {
            self.hashes.push(h);
        }
    }

    /// Bytes the filter body would take now.
    pub fn estimated_size(&self) -> usize {
        Self::lines_for(self.hashes.len(), self.bits_per_key) as usize * LINE_BYTES + TAIL_LEN
    }

    fn lines_for(keys: usize, bits_per_key: u32) -> u32 {
        let bits = (keys as u64).saturating_mul(u64::from(bits_per_key));
        u32::try_from(bits.div_ceil(u64::from(LINE_BITS))).unwrap_or(u32::MAX)
    }

    /// The filter block body.
    pub fn finish(&self) -> Vec<u8> {
        let (num_lines, num_probes) = if self.bits_per_key == 0 {
            (0, 0)
        } else {
            (
                Self::lines_for(self.hashes.len(), self.bits_per_key),
                probes_for(self.bits_per_key),
            )
        };
        let mut body = vec![0u8; num_lines as usize * LINE_BYTES + TAIL_LEN];
        if num_lines > 0 {
            let lines_len = num_lines as usize * LINE_BYTES;
            for &h in &self.hashes {
                let base = line_of(h, num_lines) * LINE_BYTES;
                let mut a = h as u32;
                for _ in 0..num_probes {
                    a = a.wrapping_mul(0x9E37_79B9);
                    let bit = (a >> 23) as usize;
                    if let Some(byte) = body[..lines_len].get_mut(base + bit / 8) {
                        *byte |= 1 << (bit % 8);
                    }
                }
            }
        }
        let tail = body.len() - TAIL_LEN;
        body[tail..tail + 4].copy_from_slice(&num_lines.to_le_bytes());
        body[tail + 4..].copy_from_slice(&num_probes.to_le_bytes());
        body
    }
}

#[inline]
fn line_of(h: u64, num_lines: u32) -> usize {
    (((h >> 32) * u64::from(num_lines)) >> 32) as usize
}

/// A decoded filter, kept in memory for the table's lifetime.
#[derive(Debug, Clone)]
pub struct BloomFilter {
    lines: Vec<u8>,
    num_lines: u32,
    num_probes: u32,
}

impl BloomFilter {
    /// Decodes a filter block body. Never panics.
    pub fn decode(mut body: Vec<u8>) -> DecodeResult<Self> {
        let tail = body
            .len()
            .checked_sub(TAIL_LEN)
            .ok_or_else(|| DecodeError::new(format!("filter of {} bytes", body.len())))?;
        let num_lines = read_u32(&body, tail)?;
        let num_probes = read_u32(&body, tail + 4)?;
        if (num_lines as usize).checked_mul(LINE_BYTES) != Some(tail) {
            return Err(DecodeError::new(format!(
                "filter claims {num_lines} lines in {tail} bytes"
            )));
        }
        if num_probes > MAX_PROBES || (num_probes == 0 && num_lines != 0) {
            return Err(DecodeError::new(format!("filter has {num_probes} probes")));
        }
        body.truncate(tail);
        Ok(BloomFilter {
            lines: body,
            num_lines,
            num_probes,
        })
    }

    /// False only if `user_key` was certainly not added.
    #[inline]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.may_contain_hash(bloom_hash(user_key))
    }

    /// As [`BloomFilter::may_contain`], for a precomputed [`bloom_hash`].
    #[inline]
    pub fn may_contain_hash(&self, h: u64) -> bool {
        if self.num_probes == 0 {
            return true;
        }
        let Some(line) = self
            .lines
            .get(line_of(h, self.num_lines) * LINE_BYTES..)
            .and_then(|l| l.get(..LINE_BYTES))
        else {
            // No lines at all: a filter over zero keys contains nothing.
            return false;
        };
        let mut a = h as u32;
        for _ in 0..self.num_probes {
            a = a.wrapping_mul(0x9E37_79B9);
            let bit = (a >> 23) as usize;
            if line[bit / 8] & (1 << (bit % 8)) == 0 {
                return false;
            }
        }
        true
    }

    /// Bytes held in memory.
    pub fn size_bytes(&self) -> usize {
        self.lines.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(keys: &[Vec<u8>], bits: u32) -> BloomFilter {
        let mut b = BloomBuilder::new(bits);
        for k in keys {
            b.add_key(k);
        }
        let body = b.finish();
        assert_eq!(body.len(), b.estimated_size());
        BloomFilter::decode(body).unwrap()
    }

    #[test]
    fn hash_is_stable() {
        // Pinned values (also computed by an independent Python transcription of the
        // documented algorithm): the hash is part of the on-disk format.
        assert_eq!(bloom_hash(b""), 0xe9e0_033e_3bad_af36);
        assert_eq!(bloom_hash(b"dougdb"), 0xdd89_c680_5567_09f6);
        assert_eq!(bloom_hash(b"0123456789abcdefXYZ"), 0x43f1_a3e7_7be5_1c19);
        assert_ne!(bloom_hash(b"a"), bloom_hash(b"a\0"));
    }

    #[test]
    fn no_false_negatives() {
        let keys: Vec<Vec<u8>> = (0..5000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let f = filter(&keys, 10);
        assert!(keys.iter().all(|k| f.may_contain(k)));
    }

    #[test]
    fn empty_and_disabled_filters() {
        let empty = filter(&[], 10);
        assert!(!empty.may_contain(b"x"));
        let disabled = filter(&[b"a".to_vec()], 0);
        assert!(disabled.may_contain(b"anything"));
    }

    #[test]
    fn decode_rejects_inconsistent_tails() {
        assert!(BloomFilter::decode(vec![0; 7]).is_err());
        let mut body = vec![0u8; 64 + 8];
        body[64] = 2; // two lines claimed, one present
        body[68] = 6;
        assert!(BloomFilter::decode(body.clone()).is_err());
        body[64] = 1;
        body[68] = 31;
        assert!(BloomFilter::decode(body).is_err());
    }

    #[test]
    fn probes_follow_bits_per_key() {
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(1000), MAX_PROBES);
    }
}
