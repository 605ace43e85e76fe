//! Fuzz target: arbitrary bytes as a command outcome, as stored in the exactly-once table
//! (in the LSM and in snapshots; `state_machine/outcome.rs`). Decoding gives an outcome
//! or a reason, never a panic; a decoded outcome re-encodes to exactly the input.
#![no_main]

use dougdb_fuzz::state_machine::outcome::Outcome;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(outcome) = Outcome::decode(data) else {
        return;
    };
    let mut again = Vec::new();
    outcome.encode(&mut again);
    assert_eq!(again, data, "{outcome:?} does not re-encode to its bytes");
});
