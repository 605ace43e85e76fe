//! Allocation-free comparison of stored internal keys against a seek target, agreeing
//! exactly with [`key::compare`] (user key ascending, then trailer descending).
//!
//! `get` probes with `(user key, snapshot)` without encoding a seek key, and every
//! comparison in a search decodes the target once instead of once per probe.

use std::cmp::Ordering;

use crate::lsm::key::{self, SEQ_MAX, SeqNo, TRAILER_LEN, ValueKind};

/// A seek target, decoded once.
#[derive(Debug, Clone, Copy)]
pub enum SeekTarget<'a> {
    /// A well-formed internal key split into its parts.
    Parts {
        /// The user key.
        user: &'a [u8],
        /// `seq << 8 | kind`, with a known kind.
        trailer: u64,
    },
    /// A malformed key (too short, unknown kind): ordered by raw bytes, as `key::compare`.
    Raw(&'a [u8]),
}

/// Splits a well-formed encoded key into user key and trailer.
#[inline]
pub fn split(encoded: &[u8]) -> Option<(&[u8], u64)> {
    let at = encoded.len().checked_sub(TRAILER_LEN)?;
    let (user, t) = encoded.split_at(at);
    let mut raw = [0u8; 8];
    raw.copy_from_slice(t);
    let trailer = u64::from_le_bytes(raw);
    ValueKind::from_u8((trailer & 0xff) as u8)?;
    Some((user, trailer))
}

impl<'a> SeekTarget<'a> {
    /// The target for an encoded internal key.
    pub fn from_encoded(encoded: &'a [u8]) -> Self {
        match split(encoded) {
            Some((user, trailer)) => SeekTarget::Parts { user, trailer },
            None => SeekTarget::Raw(encoded),
        }
    }

    /// The target that lands on the newest version of `user` with seq <= `snapshot`.
    pub fn for_get(user: &'a [u8], snapshot: SeqNo) -> Self {
        // Every stored seq is <= SEQ_MAX, so clamping a larger snapshot changes nothing.
        let seq = snapshot.0.min(SEQ_MAX);
        SeekTarget::Parts {
            user,
            trailer: (seq << 8) | ValueKind::Put as u64,
        }
    }

    /// Orders the stored key `stored` relative to this target, as
    /// `key::compare(stored, target)` would.
    #[inline]
    pub fn cmp_stored(&self, stored: &[u8]) -> Ordering {
        match (*self, split(stored)) {
            (SeekTarget::Parts { user, trailer }, Some((s_user, s_trailer))) => {
                s_user.cmp(user).then_with(|| trailer.cmp(&s_trailer))
            }
            (SeekTarget::Parts { user, trailer }, None) => {
                cmp_concat(stored, user, &trailer.to_le_bytes())
            }
            (SeekTarget::Raw(raw), _) => key::compare(stored, raw),
        }
    }
}

/// Orders `a` against the concatenation `b1 ++ b2` by raw bytes, without building it.
fn cmp_concat(a: &[u8], b1: &[u8], b2: &[u8]) -> Ordering {
    let n = a.len().min(b1.len());
    let (a_head, a_tail) = a.split_at(n);
    match a_head.cmp(&b1[..n]) {
        Ordering::Equal if n < b1.len() => Ordering::Less,
        Ordering::Equal => a_tail.cmp(b2),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsm::key::encode;
    use proptest::prelude::*;

    fn arb_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Well-formed keys over a tiny alphabet, so equal user keys are common.
            (
                proptest::collection::vec(0u8..3, 0..4),
                0u64..4,
                any::<bool>()
            )
                .prop_map(|(u, s, put)| {
                    let kind = if put {
                        ValueKind::Put
                    } else {
                        ValueKind::Delete
                    };
                    encode(&u, SeqNo(s), kind)
                }),
            // Anything, including malformed keys.
            proptest::collection::vec(any::<u8>(), 0..12),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_key_compare(a in arb_key(), b in arb_key()) {
            let t = SeekTarget::from_encoded(&b);
            prop_assert_eq!(t.cmp_stored(&a), key::compare(&a, &b));
        }
    }

    #[test]
    fn for_get_matches_seek_key() {
        let target = key::seek_key(b"k", SeqNo(7));
        let probe = SeekTarget::for_get(b"k", SeqNo(7));
        for s in 0..10 {
            for kind in [ValueKind::Put, ValueKind::Delete] {
                let stored = encode(b"k", SeqNo(s), kind);
                assert_eq!(probe.cmp_stored(&stored), key::compare(&stored, &target));
            }
        }
        // Snapshots beyond the trailer's range behave like SEQ_MAX instead of overflowing.
        let huge = SeekTarget::for_get(b"k", SeqNo(u64::MAX));
        let newest = encode(b"k", SeqNo(SEQ_MAX), ValueKind::Put);
        assert_eq!(huge.cmp_stored(&newest), Ordering::Equal);
    }
}
