//! Fuzz target: arbitrary bytes as the payload of a ConfChange entry of a Raft log
//! (`dougdb-raft`'s `ConfChangeRecord`). Decoding gives a record or `BadConfChange`,
//! never a panic; a decoded record re-encodes to bytes that decode to the same record
//! (membership is a set, so repeated or unordered ids are normalised: values, not bytes),
//! and applying the change to the decoded membership never panics.
#![no_main]

use dougdb_raft::ConfChangeRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = ConfChangeRecord::decode(data) else {
        return;
    };
    let again = rec.encode();
    assert_eq!(
        ConfChangeRecord::decode(&again).ok(),
        Some(rec.clone()),
        "{rec:?} does not round trip"
    );
    let _ = rec.change.apply_to(&rec.conf_state);
});
