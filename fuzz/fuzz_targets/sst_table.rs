//! Fuzz target: arbitrary bytes as a whole SSTable file. Opening, point reads and a full
//! scan must give values or `Corruption`, never a panic.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use dougdb_storage::fs::{FaultFs, FileSystem, SharedFs};
use dougdb_storage::lsm::sst::SstReader;
use dougdb_storage::lsm::{InternalIterator, SeqNo, TableId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fs = FaultFs::new();
    let dir = Path::new("/t");
    let path = dir.join("1.sst");
    if fs.create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = fs.create(&path) else { return };
    if file.append(data).is_err() {
        return;
    }
    let shared: SharedFs = Arc::new(fs);
    let Ok(reader) = SstReader::open(shared, &path, TableId(1), None) else { return };
    let _ = reader.get(b"key", SeqNo(u64::MAX >> 8));
    let mut it = reader.iter();
    if it.seek_to_first().is_err() {
        return;
    }
    for _ in 0..=data.len() {
        if !it.valid() || it.next().is_err() {
            break;
        }
    }
});
