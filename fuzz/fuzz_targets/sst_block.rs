//! Fuzz target: arbitrary bytes as an SSTable data block body must decode or be refused,
//! and walking a decoded block must end (error or exhaustion), never panic.
#![no_main]

use std::sync::Arc;

use dougdb_storage::lsm::sst::block::decode_block;
use dougdb_storage::lsm::sst::block_iter::BlockIter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(block) = decode_block(data) else { return };
    let mut it = BlockIter::new(Arc::new(block));
    if it.seek_to_first().is_err() {
        return;
    }
    // A block can hold at most one entry per byte: bound the walk by that.
    for _ in 0..=data.len() {
        if !it.valid() {
            break;
        }
        let _ = (it.key().len(), it.value().len());
        if it.next().is_err() {
            break;
        }
    }
});
