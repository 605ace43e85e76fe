//! The route call's encodings: a batch of keys in, one `u32` shard index per key out.
//!
//! Keys: `count: u32 | len[0..count]: u32 each | key bytes, concatenated in order`.
//! Shards: `shard[0..count]: u32 each`, in the keys' order.

use alloc::vec::Vec;

use crate::DecodeError;
use crate::reader::{Reader, len_u32, put_u32};

/// Encoded size of `keys`, so a caller can allocate the guest buffer first.
pub fn keys_len_bytes(keys: &[&[u8]]) -> usize {
    4 + 4 * keys.len() + keys.iter().map(|k| k.len()).sum::<usize>()
}

/// Appends the encoding of `keys` to `out` (cleared first).
pub fn encode_keys(keys: &[&[u8]], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(keys_len_bytes(keys));
    put_u32(out, len_u32(keys.len()));
    for key in keys {
        put_u32(out, len_u32(key.len()));
    }
    for key in keys {
        out.extend_from_slice(key);
    }
}

/// Checks a whole keys buffer, then gives its keys in order without copying.
pub fn decode_keys(buf: &[u8]) -> Result<KeysIter<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let count = r.count("key count", 4)?;
    let lens = r.bytes(4 * count)?;
    let mut total: usize = 0;
    for raw in lens.chunks_exact(4) {
        let len = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
        total = total.checked_add(len).ok_or(DecodeError::BadValue {
            field: "key length",
            value: len as u64,
        })?;
    }
    let data = r.bytes(total)?;
    r.finish()?;
    Ok(KeysIter {
        lens,
        data,
        remaining: count,
    })
}

/// The keys of a checked buffer, in order.
#[derive(Debug, Clone)]
pub struct KeysIter<'a> {
    lens: &'a [u8],
    data: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for KeysIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (raw, lens) = self.lens.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*raw) as usize;
        // `decode_keys` checked that the lengths add up to `data`'s length.
        let (key, data) = self.data.split_at_checked(len)?;
        self.lens = lens;
        self.data = data;
        self.remaining -= 1;
        Some(key)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for KeysIter<'_> {}

/// Appends the encoding of `shards` to `out` (cleared first).
pub fn encode_shards(shards: &[u32], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(4 * shards.len());
    for &s in shards {
        put_u32(out, s);
    }
}

/// Decodes exactly `count` shard indexes (range checks are the caller's: it knows the
/// shard count).
pub fn decode_shards(buf: &[u8], count: usize) -> Result<Vec<u32>, DecodeError> {
    if buf.len() != 4 * count {
        return Err(DecodeError::BadValue {
            field: "shards length",
            value: buf.len() as u64,
        });
    }
    Ok(buf
        .chunks_exact(4)
        .map(|raw| u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn keys_round_trip_including_empty_keys_and_empty_batch() {
        let cases: [&[&[u8]]; 3] = [&[], &[b""], &[b"a", b"", b"hello", &[0xff; 300]]];
        for keys in cases {
            let mut buf = Vec::new();
            encode_keys(keys, &mut buf);
            assert_eq!(buf.len(), keys_len_bytes(keys));
            let back: Vec<&[u8]> = decode_keys(&buf).unwrap().collect();
            assert_eq!(back, keys);
        }
    }

    #[test]
    fn keys_encoding_layout_is_count_then_lengths_then_bytes() {
        let mut buf = Vec::new();
        encode_keys(&[b"ab", b"c"], &mut buf);
        assert_eq!(buf, [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'a', b'b', b'c']);
    }

    #[test]
    fn truncated_or_padded_keys_buffers_are_refused() {
        let mut buf = Vec::new();
        encode_keys(&[b"abc", b"de"], &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_keys(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert_eq!(
            decode_keys(&buf).unwrap_err(),
            DecodeError::TrailingBytes { extra: 1 }
        );
    }

    #[test]
    fn huge_key_count_is_refused_without_allocating() {
        let buf = [0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            decode_keys(&buf),
            Err(DecodeError::BadValue {
                field: "key count",
                ..
            })
        ));
    }

    #[test]
    fn shards_round_trip_and_wrong_length_is_refused() {
        let mut buf = Vec::new();
        encode_shards(&[0, 7, u32::MAX], &mut buf);
        assert_eq!(decode_shards(&buf, 3).unwrap(), vec![0, 7, u32::MAX]);
        assert!(decode_shards(&buf, 2).is_err());
    }
}
