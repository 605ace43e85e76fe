//! Builds one block body: prefix-compressed entries, then the restart array (see
//! [`super::block`] for the layout). Used for data blocks and, with a restart interval of
//! 1, for the index block.

use super::format::{MAX_KEY_LEN, MAX_VALUE_LEN};

/// Bytes of the fixed entry header: shared u16, unshared u16, value_len u32.
pub const ENTRY_HEADER_LEN: usize = 8;

/// Accumulates entries for one block. Keys must arrive in increasing order (the table
/// builder checks that); lengths must be within [`MAX_KEY_LEN`] / [`MAX_VALUE_LEN`].
#[derive(Debug)]
pub struct BlockBuilder {
    /// Entries so far.
    buf: Vec<u8>,
    /// Offsets of restart entries (shared = 0): binary search starts from these.
    restarts: Vec<u32>,
    /// Entries between restarts: trades block size (longer runs share more) against the
    /// linear scan after the binary search.
    restart_interval: u32,
    /// Entries since the last restart.
    counter: u32,
    /// The previous key, to compute the shared prefix.
    last_key: Vec<u8>,
    /// Entries in the block.
    entries: u32,
}

impl BlockBuilder {
    /// An empty builder; an interval of 0 is treated as 1.
    pub fn new(restart_interval: u32) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            counter: 0,
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Appends an entry. Panics on over-long keys or values: the table builder rejects
    /// them first, so reaching here with one is a programmer error.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        assert!(key.len() <= MAX_KEY_LEN, "key of {} bytes", key.len());
        assert!(
            value.len() <= MAX_VALUE_LEN,
            "value of {} bytes",
            value.len()
        );
        let shared = if self.counter < self.restart_interval && self.entries > 0 {
            common_prefix(&self.last_key, key)
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
            0
        };
        let unshared = key.len() - shared;
        // Widths were asserted above, so these casts cannot truncate.
        self.buf.extend_from_slice(&(shared as u16).to_le_bytes());
        self.buf.extend_from_slice(&(unshared as u16).to_le_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.counter += 1;
        self.entries += 1;
    }

    /// Size of the body if finished now.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// True when no entry was added since the last reset.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Entries added since the last reset.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// The last key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Appends the finished body to `out` and resets the builder for the next block.
    pub fn finish_into(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.buf.clear();
        self.restarts.clear();
        self.counter = 0;
        self.entries = 0;
        self.last_key.clear();
    }

    /// The finished body as a new buffer (resets the builder).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.estimated_size());
        self.finish_into(&mut out);
        out
    }
}

/// Length of the longest common prefix, capped so it fits the u16 header field.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .take(MAX_KEY_LEN)
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_block_is_just_a_zero_restart_count() {
        let mut b = BlockBuilder::new(16);
        assert!(b.is_empty());
        assert_eq!(b.estimated_size(), 4);
        assert_eq!(b.finish(), vec![0, 0, 0, 0]);
    }

    #[test]
    fn shares_prefixes_between_restarts() {
        let mut b = BlockBuilder::new(2);
        b.add(b"apple", b"1");
        b.add(b"apply", b"2");
        b.add(b"apricot", b"3");
        let body = b.finish();
        // entry 1: shared 0, unshared 5; entry 2: shared 4, unshared 1; entry 3: restart.
        assert_eq!(&body[0..8], &[0, 0, 5, 0, 1, 0, 0, 0]);
        assert_eq!(&body[14..22], &[4, 0, 1, 0, 1, 0, 0, 0]);
        assert_eq!(&body[24..32], &[0, 0, 7, 0, 1, 0, 0, 0]);
        let n = body.len();
        assert_eq!(&body[n - 4..], &[2, 0, 0, 0]);
        assert_eq!(&body[n - 12..n - 4], &[0, 0, 0, 0, 24, 0, 0, 0]);
    }

    #[test]
    fn finish_resets() {
        let mut b = BlockBuilder::new(4);
        b.add(b"k", b"v");
        let first = b.finish();
        b.add(b"k", b"v");
        assert_eq!(b.finish(), first);
        assert_eq!(b.entries(), 0);
    }
}
