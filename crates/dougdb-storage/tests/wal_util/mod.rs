//! Helpers shared by the WAL integration tests: replayable seeds, checkable payloads,
//! reading a whole log back, and poking at segment files through the fs trait.
#![allow(dead_code)] // each test crate uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic right here

use std::path::{Path, PathBuf};

use dougdb_storage::fs::FileSystem;
use dougdb_storage::wal::{Position, Wal, WalOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Records as the tests track them: position and payload, in log order.
pub type Records = Vec<(Position, Vec<u8>)>;

/// The test's seed: DOUGDB_SEED if set, else fresh; printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("DOUGDB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("{test}: replay with DOUGDB_SEED={seed}");
    seed
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A payload of a size drawn from a skewed distribution (mostly small, some large) whose
/// bytes encode `id`, so any mix-up or bit rot shows.
pub fn payload(rng: &mut StdRng, id: u64) -> Vec<u8> {
    let len = match rng.random_range(0..10) {
        0 => rng.random_range(1..8),
        1..=7 => rng.random_range(8..300),
        8 => rng.random_range(300..4000),
        _ => rng.random_range(4000..20_000),
    };
    let mut out = Vec::with_capacity(len);
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every record from the first position, in order.
pub fn read_all(wal: &Wal) -> Vec<(Position, Vec<u8>)> {
    wal.iter_from(wal.first_position())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

pub fn small_segments() -> WalOptions {
    WalOptions {
        segment_size_bytes: 16 << 10,
        record_size_max_bytes: 64 << 10,
    }
}

/// Segment paths in log order.
pub fn segments(fs: &dyn FileSystem, dir: &Path) -> Vec<PathBuf> {
    fs.list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .map(|n| dir.join(n))
        .collect()
}

/// Cuts `path` to `len` bytes, durably.
pub fn cut(fs: &dyn FileSystem, path: &Path, len: u64) {
    let file = fs.open_append(path).unwrap();
    file.truncate(len).unwrap();
    file.sync().unwrap();
}

/// Appends raw bytes to `path`, durably.
pub fn append_raw(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) {
    let file = fs.open_append(path).unwrap();
    file.append(bytes).unwrap();
    file.sync().unwrap();
}

/// File offset of `position` in the segment file that holds it.
pub fn offset_in_segment(path: &Path, position: Position) -> u64 {
    let start = dougdb_storage::wal::segment::parse_segment_file_name(
        path.file_name().unwrap().to_str().unwrap(),
    )
    .unwrap();
    dougdb_storage::wal::segment::file_offset(start, position.0)
}

/// The segment file holding `position`.
pub fn segment_of(fs: &dyn FileSystem, dir: &Path, position: Position) -> PathBuf {
    segments(fs, dir)
        .into_iter()
        .rev()
        .find(|p| {
            let start = dougdb_storage::wal::segment::parse_segment_file_name(
                p.file_name().unwrap().to_str().unwrap(),
            )
            .unwrap();
            start <= position.0
        })
        .unwrap()
}
