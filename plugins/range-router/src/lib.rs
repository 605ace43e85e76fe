//! Routes by key ranges. Configuration: the split points, in the same encoding as a route
//! call's keys (`count: u32 | len: u32 * count | bytes`), strictly ascending. With splits
//! `s_0 < s_1 < ... < s_{n-1}`, shard `i` holds the keys `k` with `s_{i-1} <= k < s_i`, so
//! there are `n + 1` shards and the plugin must be called with `shard_count == n + 1`.

use std::sync::OnceLock;

use dougdb_plugin_sdk::{decode_keys, router};

/// The split points, set once per instance by `init`.
static SPLITS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

fn init(config: &[u8]) -> Result<(), String> {
    let splits: Vec<Vec<u8>> = decode_keys(config)
        .map_err(|err| format!("range-router: bad split points: {err}"))?
        .map(<[u8]>::to_vec)
        .collect();
    if let Some(i) = splits.windows(2).position(|w| w[0] >= w[1]) {
        return Err(format!(
            "range-router: split points must be strictly ascending (at index {})",
            i + 1
        ));
    }
    SPLITS
        .set(splits)
        .map_err(|_| "range-router: init called twice".to_string())
}

#[router(init = init)]
fn route(key: &[u8], shard_count: u32) -> u32 {
    let splits = SPLITS.get().map(Vec::as_slice).unwrap_or(&[]);
    let ranges = splits.len() + 1;
    assert!(
        ranges == shard_count as usize,
        "range-router has {ranges} ranges but was asked for {shard_count} shards"
    );
    splits.partition_point(|split| split.as_slice() <= key) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fall_in_the_range_left_of_their_first_greater_split() {
        let mut config = Vec::new();
        // count 2, lengths 1 and 1, "g" and "p"
        config.extend_from_slice(&2u32.to_le_bytes());
        config.extend_from_slice(&1u32.to_le_bytes());
        config.extend_from_slice(&1u32.to_le_bytes());
        config.extend_from_slice(b"gp");
        init(&config).unwrap();
        assert_eq!(route(b"", 3), 0);
        assert_eq!(route(b"f", 3), 0);
        assert_eq!(route(b"g", 3), 1);
        assert_eq!(route(b"ozzz", 3), 1);
        assert_eq!(route(b"p", 3), 2);
        assert_eq!(route(b"zzz", 3), 2);
    }
}
