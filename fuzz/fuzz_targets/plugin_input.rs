//! Fuzz target: arbitrary bytes as a plugin call's input, decoded by the guest with
//! `dougdb-plugin-abi` (the same code the bundled guests and `plugins/sdk` run). The
//! first byte picks the decoder:
//! - even: a routing batch of keys (`decode_keys`): keys or a `DecodeError`, never a
//!   panic; the iterator yields exactly `len()` keys, which re-encode to exactly the input.
//! - odd: a compaction summary of the LSM tree (`decode_summary`): a summary or a
//!   `DecodeError`; a decoded summary re-encodes to exactly the input.
#![no_main]

use dougdb_plugin_abi::{decode_keys, decode_summary, encode_keys, encode_summary, keys_len_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut again = Vec::new();
    if selector % 2 == 0 {
        let Ok(iter) = decode_keys(rest) else { return };
        let announced = iter.len();
        let keys: Vec<&[u8]> = iter.collect();
        assert_eq!(keys.len(), announced);
        assert_eq!(keys_len_bytes(&keys), rest.len());
        encode_keys(&keys, &mut again);
        assert_eq!(again, rest);
    } else {
        let Ok(summary) = decode_summary(rest) else {
            return;
        };
        let _ = (
            summary.table_count(),
            summary.levels.iter().map(|l| l.size_bytes()).count(),
        );
        encode_summary(&summary, &mut again);
        assert_eq!(again, rest, "{summary:?} does not re-encode to its bytes");
    }
});
