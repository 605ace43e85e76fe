//! Fuzz target: arbitrary bytes as a WAL record frame. Decoding gives a frame or an error,
//! never a panic; a decoded frame re-encodes to exactly the bytes it was read from.
#![no_main]

use dougdb_storage::wal::frame::{decode_frame, encode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = decode_frame(data) else { return };
    let mut again = Vec::new();
    encode_frame(frame.position, frame.payload, &mut again);
    assert_eq!(&data[..again.len()], &again[..]);
});
