//! Fuzz target: arbitrary bytes as a manifest log and as one manifest edit record. Either
//! decodes or is `Corruption`, never a panic; a decoded edit re-encodes to an equal edit.
#![no_main]

use std::path::Path;

use dougdb_storage::lsm::manifest::{VersionEdit, decode_log};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_log(Path::new("MANIFEST-fuzz"), data);
    if let Ok(edit) = VersionEdit::decode(data) {
        let again = VersionEdit::decode(&edit.encode());
        assert_eq!(again.ok(), Some(edit));
    }
});
