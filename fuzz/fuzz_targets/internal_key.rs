//! Fuzz target: arbitrary bytes as an encoded internal key must decode or be refused,
//! never panic, and a decoded key must re-encode to the same bytes.
#![no_main]

use dougdb_storage::lsm::key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(p) = key::decode(data) {
        assert_eq!(key::encode(p.user_key, p.seq, p.kind), data);
    }
});
