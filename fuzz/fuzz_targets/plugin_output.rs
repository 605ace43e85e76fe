//! Fuzz target: arbitrary bytes as a plugin guest's output, decoded by the host with
//! `dougdb-plugin-abi` (the guest is untrusted code). The first byte picks the decoder:
//! - even: a compaction policy's pick result (`decode_task`): a task, nothing, or a
//!   `DecodeError`, never a panic; a decoded result re-encodes to exactly the input.
//! - odd: a router's shard indexes (`decode_shards`) for the count of keys given by the
//!   second byte: only a buffer of exactly 4 bytes per key decodes, and it re-encodes to
//!   exactly the input.
//!
//! The host's checks after decoding (shard index in range, tasks naming known tables)
//! live in `dougdb-plugin`, which links wasmtime: see fuzz/README.md.
#![no_main]

use dougdb_plugin_abi::{decode_shards, decode_task, encode_shards, encode_task};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut again = Vec::new();
    if selector % 2 == 0 {
        let Ok(task) = decode_task(rest) else { return };
        encode_task(task.as_ref(), &mut again);
        assert_eq!(again, rest, "{task:?} does not re-encode to its bytes");
    } else {
        let Some((&count, rest)) = rest.split_first() else {
            return;
        };
        let count = usize::from(count);
        let decoded = decode_shards(rest, count);
        assert_eq!(decoded.is_ok(), rest.len() == 4 * count);
        let Ok(shards) = decoded else { return };
        encode_shards(&shards, &mut again);
        assert_eq!(again, rest);
    }
});
