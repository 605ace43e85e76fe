//! Fuzz target: arbitrary bytes as the payload of one WAL record of a Raft log (an entry
//! or a hard state; `dougdb-server`'s `raft_store/record.rs`). Decoding gives a record or
//! a reason, never a panic; a decoded record re-encodes to exactly the input.
#![no_main]

use dougdb_fuzz::raft_store::record::{self, LogRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = record::decode(data) else {
        return;
    };
    let again = match &rec {
        LogRecord::Entry(e) => {
            assert_ne!(e.index.0, 0, "an entry at index 0 was accepted");
            let mut out = Vec::new();
            record::encode_entry(e, &mut out);
            out
        }
        LogRecord::HardState(hs) => record::encode_hard_state(hs),
    };
    assert_eq!(again, data, "{rec:?} does not re-encode to its bytes");
});
