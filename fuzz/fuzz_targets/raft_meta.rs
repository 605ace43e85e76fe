//! Fuzz target: arbitrary bytes as a Raft group's `raft-meta` file (`dougdb-server`'s
//! `raft_store/meta.rs`). Decoding gives the metadata or a reason, never a panic; decoded
//! metadata re-encodes to a file that decodes to the same metadata (node id sets are
//! sets: a file listing an id twice or out of order is accepted and normalised, so the
//! round trip is on values, not bytes).
#![no_main]

use dougdb_fuzz::raft_store::meta;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = meta::decode(data) else { return };
    let again = meta::encode(&m);
    assert_eq!(
        meta::decode(&again).ok(),
        Some(m.clone()),
        "{m:?} does not round trip"
    );
    assert!(
        again.len() <= data.len(),
        "normalising made the file longer"
    );
});
