//! Fuzz target: arbitrary bytes as a WAL segment header: a start position or an error,
//! never a panic.
#![no_main]

use dougdb_storage::wal::segment::decode_segment_header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_segment_header(data);
});
