//! Fuzz target: every SSTable metadata decoder (footer, block handle, index, bloom filter,
//! properties, block trailer) on arbitrary bytes: a value or an error, never a panic.
#![no_main]

use dougdb_storage::lsm::sst::{bloom, footer, format, index, properties, trailer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 6 {
        0 => drop(footer::Footer::decode(rest)),
        1 => drop(format::BlockHandle::decode(rest)),
        2 => drop(index::Index::decode(rest.to_vec())),
        3 => {
            if let Ok(filter) = bloom::BloomFilter::decode(rest.to_vec()) {
                let _ = filter.may_contain(b"probe");
            }
        }
        4 => drop(properties::Properties::decode(rest)),
        _ => {
            for kind in [trailer::BlockKind::Data, trailer::BlockKind::Index] {
                let _ = trailer::verify(rest, kind);
            }
        }
    }
});
