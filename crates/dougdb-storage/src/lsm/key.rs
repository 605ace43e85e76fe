//! Internal keys: a user key plus a sequence number and a kind, ordered by user key
//! ascending, then sequence descending, so the newest version of a key comes first.
//!
//! Encoded form (used in memtables, SSTable blocks and compaction):
//!
//! ```text
//! +----------------------+-------------------------------------------+
//! | user key (n bytes)   | trailer: u64 LE = (seq << 8) | kind        |
//! +----------------------+-------------------------------------------+
//! ```

use std::cmp::Ordering;

/// Width of the trailer appended to every user key.
pub const TRAILER_LEN: usize = 8;

/// Largest sequence number that fits the trailer (56 bits).
pub const SEQ_MAX: u64 = (1 << 56) - 1;

/// A sequence number: every write gets the next one; a snapshot is "everything <= seq".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeqNo(pub u64);

/// Whether an entry sets a value or deletes the key (a tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone: the key is absent at this sequence number.
    Delete = 0,
    /// A value.
    Put = 1,
}

impl ValueKind {
    /// Decodes the low byte of a trailer.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Appends the encoded internal key to `out`.
pub fn encode_into(out: &mut Vec<u8>, user_key: &[u8], seq: SeqNo, kind: ValueKind) {
    debug_assert!(seq.0 <= SEQ_MAX);
    out.extend_from_slice(user_key);
    out.extend_from_slice(&((seq.0 << 8) | kind as u64).to_le_bytes());
}

/// Encodes an internal key into a new buffer.
pub fn encode(user_key: &[u8], seq: SeqNo, kind: ValueKind) -> Vec<u8> {
    let mut out = Vec::with_capacity(user_key.len() + TRAILER_LEN);
    encode_into(&mut out, user_key, seq, kind);
    out
}

/// A decoded view of an encoded internal key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// The user's key.
    pub user_key: &'a [u8],
    /// Sequence number of the write.
    pub seq: SeqNo,
    /// Put or delete.
    pub kind: ValueKind,
}

/// Decodes an encoded internal key; `None` if it is too short or the kind is unknown.
pub fn decode(encoded: &[u8]) -> Option<ParsedKey<'_>> {
    let split = encoded.len().checked_sub(TRAILER_LEN)?;
    let (user_key, trailer) = encoded.split_at(split);
    let trailer = u64::from_le_bytes(trailer.try_into().ok()?);
    let kind = ValueKind::from_u8((trailer & 0xff) as u8)?;
    Some(ParsedKey {
        user_key,
        seq: SeqNo(trailer >> 8),
        kind,
    })
}

/// Orders encoded internal keys: user key ascending, then sequence descending.
/// Malformed keys (shorter than a trailer) sort by raw bytes, after validation elsewhere.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    match (decode(a), decode(b)) {
        (Some(x), Some(y)) => x
            .user_key
            .cmp(y.user_key)
            .then_with(|| y.seq.cmp(&x.seq))
            .then_with(|| (y.kind as u8).cmp(&(x.kind as u8))),
        _ => a.cmp(b),
    }
}

/// The smallest encoded key for `user_key` visible at `snapshot`: seeking to it lands on
/// the newest version with seq <= snapshot.
pub fn seek_key(user_key: &[u8], snapshot: SeqNo) -> Vec<u8> {
    encode(user_key, snapshot, ValueKind::Put)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(user in proptest::collection::vec(any::<u8>(), 0..64),
                      seq in 0..=SEQ_MAX, put in any::<bool>()) {
            let kind = if put { ValueKind::Put } else { ValueKind::Delete };
            let enc = encode(&user, SeqNo(seq), kind);
            let p = decode(&enc).unwrap();
            prop_assert_eq!(p.user_key, &user[..]);
            prop_assert_eq!(p.seq, SeqNo(seq));
            prop_assert_eq!(p.kind, kind);
        }

        #[test]
        fn order_is_user_key_then_newest_first(a in proptest::collection::vec(any::<u8>(), 0..8),
                                               b in proptest::collection::vec(any::<u8>(), 0..8),
                                               s1 in 0..1000u64, s2 in 0..1000u64) {
            let ka = encode(&a, SeqNo(s1), ValueKind::Put);
            let kb = encode(&b, SeqNo(s2), ValueKind::Put);
            let want = a.cmp(&b).then(s2.cmp(&s1));
            prop_assert_eq!(compare(&ka, &kb), want);
        }
    }

    #[test]
    fn short_or_unknown_kind_does_not_decode() {
        assert!(decode(b"short").is_none());
        let mut k = encode(b"k", SeqNo(1), ValueKind::Put);
        let last = k.len() - TRAILER_LEN;
        k[last] = 9;
        assert!(decode(&k).is_none());
    }
}
