//! A corrupt SSTable block makes gets and scans return `Corruption` naming the file,
//! never a wrong value.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use dougdb_storage::Error;
use dougdb_storage::fs::FaultFs;
use dougdb_storage::lsm::Db;
use lsm_common::{dir, key, small_options, value};

#[test]
fn corrupt_data_block_gives_corruption_naming_the_file() {
    let fs = FaultFs::new();
    {
        let db = Db::open(dir(), small_options(&fs)).unwrap();
        for i in 0..40 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    }
    let tables: Vec<_> = fs
        .files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    assert_eq!(tables.len(), 1);
    let table = &tables[0];
    assert!(
        fs.corrupt(table, 20, 0x40),
        "flip a bit in the first data block"
    );
    let db = Db::open(dir(), small_options(&fs)).unwrap();
    let mut corrupt_gets = 0;
    for i in 0..40 {
        match db.get(&key(i)) {
            Ok(v) => assert_eq!(v, Some(value(i, 0)), "never a wrong value"),
            Err(Error::Corruption { file, .. }) => {
                assert_eq!(&file, table);
                corrupt_gets += 1;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(corrupt_gets > 0);
    let scan: Vec<_> = db.scan(..).unwrap().collect();
    let err = scan
        .into_iter()
        .find_map(Result::err)
        .expect("the scan must fail");
    match err {
        Error::Corruption { file, .. } => assert_eq!(&file, table),
        e => panic!("unexpected error {e}"),
    }
}
