//! Fuzz target: arbitrary bytes as an encoded write batch (the LSM's WAL payload). A batch
//! decodes or is refused, never panics; a decoded batch iterates and re-encodes to itself.
#![no_main]

use dougdb_storage::lsm::WriteBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = WriteBatch::decode(data) else { return };
    let ops = batch.iter().count();
    assert_eq!(ops, batch.len());
    assert_eq!(batch.encoded(), data);
});
