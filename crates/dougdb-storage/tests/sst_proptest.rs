//! Property tests: table and codec round trips on random input, and arbitrary or mutated
//! bytes never panic any decoder (the same entry points the fuzz targets use).
// A test crate: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod sst_support;

use std::sync::Arc;

use dougdb_storage::lsm::key::{self, SeqNo, ValueKind};
use dougdb_storage::lsm::sst::TableOptions;
use dougdb_storage::lsm::sst::block::{Block, decode_block};
use dougdb_storage::lsm::sst::block_builder::BlockBuilder;
use dougdb_storage::lsm::sst::block_iter::BlockIter;
use dougdb_storage::lsm::sst::bloom::{BloomBuilder, BloomFilter};
use dougdb_storage::lsm::sst::compare::SeekTarget;
use dougdb_storage::lsm::sst::footer::Footer;
use dougdb_storage::lsm::sst::format::BlockHandle;
use dougdb_storage::lsm::sst::index::Index;
use dougdb_storage::lsm::sst::properties::{Properties, TableInfo};
use dougdb_storage::lsm::sst::trailer::{self, BlockKind};
use proptest::prelude::*;
use sst_support::*;

fn arb_versions(max: usize) -> impl Strategy<Value = Vec<Version>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(0u8..4, 0..6),
            0u64..20,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(u, s, put, v)| {
                let kind = if put {
                    ValueKind::Put
                } else {
                    ValueKind::Delete
                };
                (u, s, kind, v)
            }),
        0..max,
    )
}

fn arb_opts() -> impl Strategy<Value = TableOptions> {
    (1u32..600, 0u32..16, 1u32..20).prop_map(|(b, bits, r)| TableOptions {
        block_size_bytes: b,
        bloom_bits_per_key: bits,
        restart_interval: r,
    })
}

/// Decodes `bytes` as every structure and exercises the results; must never panic.
fn poke_every_decoder(bytes: &[u8]) {
    if let Ok(block) = decode_block(bytes) {
        let block = Arc::new(block);
        let mut it = BlockIter::new(Arc::clone(&block));
        let mut steps = 0;
        let mut r = it.seek_to_first();
        while r.is_ok() && it.valid() && steps <= block.len() {
            let _ = (it.key(), it.value());
            r = it.next();
            steps += 1;
        }
        let _ = it.seek(&SeekTarget::from_encoded(bytes));
        let _ = it.seek(&SeekTarget::Raw(b"\xff"));
    }
    if let Ok(index) = Index::decode(bytes.to_vec()) {
        let _ = index.find(&SeekTarget::from_encoded(bytes));
        let _ = index.check_layout(bytes.len() as u64);
    }
    if let Ok(filter) = BloomFilter::decode(bytes.to_vec()) {
        let _ = filter.may_contain(bytes);
    }
    let _ = Properties::decode(bytes);
    let _ = Footer::decode(bytes);
    let _ = BlockHandle::decode(bytes);
    for kind in [
        BlockKind::Data,
        BlockKind::Index,
        BlockKind::Filter,
        BlockKind::Properties,
    ] {
        let _ = trailer::verify(bytes, kind);
    }
}

/// Valid encodings of every structure, to mutate.
fn valid_encodings(versions: &[Version]) -> Vec<Vec<u8>> {
    let entries = sorted_entries(versions);
    let mut data = BlockBuilder::new(3);
    let mut index = BlockBuilder::new(1);
    let mut bloom = BloomBuilder::new(10);
    for (i, (k, v)) in entries.iter().enumerate() {
        data.add(k, v);
        let mut h = Vec::new();
        BlockHandle {
            offset: i as u64 * 10,
            len: 5,
        }
        .encode_into(&mut h);
        index.add(k, &h);
        bloom.add_key(key::decode(k).unwrap().user_key);
    }
    let props = Properties {
        info: TableInfo {
            entries: entries.len() as u64,
            smallest_key: entries.first().map(|e| e.0.clone()).unwrap_or_default(),
            largest_key: entries.last().map(|e| e.0.clone()).unwrap_or_default(),
            ..TableInfo::default()
        },
        data_blocks: u64::from(!entries.is_empty()),
    };
    let footer = Footer {
        filter: BlockHandle { offset: 1, len: 2 },
        properties: BlockHandle { offset: 3, len: 4 },
        index: BlockHandle { offset: 5, len: 6 },
    };
    let data = data.finish();
    let mut sealed = data.clone();
    trailer::append_trailer(&mut sealed, &data, BlockKind::Data);
    vec![
        data,
        index.finish(),
        bloom.finish(),
        props.encode(),
        footer.encode(),
        sealed,
    ]
}

proptest! {
    #![proptest_config(proptest_config("sst_proptest", 64))]

    #[test]
    fn sst_table_round_trips(versions in arb_versions(300), opts in arb_opts()) {
        let entries = sorted_entries(&versions);
        let (_fault, reader) = build_and_open(&entries, opts, None);
        prop_assert_eq!(scan(&reader), entries.clone());
        for (u, _, _, _) in &versions {
            for snapshot in [0u64, 7, 19, u64::MAX] {
                prop_assert_eq!(
                    reader.get(u, SeqNo(snapshot)).unwrap(),
                    model_get(&entries, u, snapshot)
                );
            }
        }
        prop_assert_eq!(reader.info().entries, entries.len() as u64);
    }

    #[test]
    fn sst_block_codec_round_trips(versions in arb_versions(200), interval in 1u32..20) {
        let entries = sorted_entries(&versions);
        let mut b = BlockBuilder::new(interval);
        for (k, v) in &entries {
            b.add(k, v);
        }
        let block = Arc::new(Block::decode(b.finish()).unwrap());
        prop_assert_eq!(block.len(), entries.len());
        let mut it = BlockIter::new(Arc::clone(&block));
        it.seek_to_first().unwrap();
        for (k, v) in &entries {
            prop_assert!(it.valid());
            prop_assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
            it.next().unwrap();
        }
        prop_assert!(!it.valid());
        for (i, (k, _)) in entries.iter().enumerate() {
            it.seek(&SeekTarget::from_encoded(k)).unwrap();
            prop_assert_eq!(it.key(), &entries[i].0[..]);
        }
    }

    #[test]
    fn sst_bloom_codec_has_no_false_negatives(keys in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..20), 0..500), bits in 1u32..30) {
        let mut b = BloomBuilder::new(bits);
        for k in &keys {
            b.add_key(k);
        }
        let f = BloomFilter::decode(b.finish()).unwrap();
        for k in &keys {
            prop_assert!(f.may_contain(k));
        }
    }

    #[test]
    fn sst_footer_and_properties_round_trip(a in any::<[u64; 3]>(), l in any::<[u32; 3]>(),
                                        versions in arb_versions(20), t in 0u64..5) {
        let footer = Footer {
            filter: BlockHandle { offset: a[0], len: l[0] },
            properties: BlockHandle { offset: a[1], len: l[1] },
            index: BlockHandle { offset: a[2], len: l[2] },
        };
        prop_assert_eq!(Footer::decode(&footer.encode()).unwrap(), footer);
        let entries = sorted_entries(&versions);
        let props = Properties {
            info: TableInfo {
                entries: entries.len() as u64 + t,
                tombstones: t,
                smallest_key: entries.first().map(|e| e.0.clone()).unwrap_or_default(),
                largest_key: entries.last().map(|e| e.0.clone()).unwrap_or_default(),
                smallest_seq: 1,
                largest_seq: 1 + t,
                size_bytes: 0,
            },
            data_blocks: 1 + t,
        };
        if !entries.is_empty() {
            prop_assert_eq!(Properties::decode(&props.encode()).unwrap(), props);
        }
    }

    #[test]
    fn sst_arbitrary_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        poke_every_decoder(&bytes);
    }

    #[test]
    fn sst_mutated_encodings_never_panic_a_decoder(
        versions in arb_versions(30),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        for mut bytes in valid_encodings(&versions) {
            poke_every_decoder(&bytes);
            if bytes.is_empty() {
                continue;
            }
            for (at, b) in &edits {
                let n = bytes.len();
                bytes[at % n] = *b;
            }
            poke_every_decoder(&bytes);
            let keep = cut % (bytes.len() + 1);
            poke_every_decoder(&bytes[..keep]);
        }
    }
}
