//! The hash-router's placement function, fixed forever: xxHash64 (seed 0) of the key, then
//! Lemire's multiply-shift onto `[0, shard_count)`. The `hash-router` guest calls exactly
//! this code; the host and clients call it natively. `docs/plugins.md` specifies it with
//! test vectors: data placement depends on it, so it must never change.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

/// The shard of `key` among `shard_count` shards under the built-in hash router:
/// `shard_for_hash(xxh64(key, 0), shard_count)`. Returns 0 when `shard_count` is 0.
#[inline]
pub fn hash_route(key: &[u8], shard_count: u32) -> u32 {
    shard_for_hash(xxh64(key, 0), shard_count)
}

/// Lemire's multiply-shift: `(hash * shard_count) >> 64` in 128-bit arithmetic. Uses the
/// hash's high bits and needs no division; it is *not* `hash % shard_count`.
#[inline]
pub fn shard_for_hash(hash: u64, shard_count: u32) -> u32 {
    ((u128::from(hash) * u128::from(shard_count)) >> 64) as u32
}

/// xxHash64 of `data` with `seed`, as specified by Yann Collet's reference implementation.
pub fn xxh64(data: &[u8], seed: u64) -> u64 {
    let len = data.len() as u64;
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, read_u64(rest, i * 8));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = merge_round(h, lane);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(len);
    while rest.len() >= 8 {
        h ^= round(0, read_u64(rest, 0));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        h ^= u64::from(read_u32(rest, 0)).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &byte in rest {
        h ^= u64::from(byte).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    avalanche(h)
}

#[inline]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

#[inline]
fn merge_round(acc: u64, lane: u64) -> u64 {
    (acc ^ round(0, lane)).wrapping_mul(P1).wrapping_add(P4)
}

#[inline]
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// Callers guarantee `at + 8 <= data.len()`.
#[inline]
fn read_u64(data: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(raw)
}

/// Callers guarantee `at + 4 <= data.len()`.
#[inline]
fn read_u32(data: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(raw)
}

#[cfg(test)]
mod tests;
