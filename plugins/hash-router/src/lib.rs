//! The default router: xxHash64 (seed 0) of the key, multiply-shifted onto the shards.
//! Placement is fixed forever; the function lives in `dougdb-plugin-abi` so the host's
//! native `hash_route` and this module are the same code.

use dougdb_plugin_sdk::router;

#[router]
fn route(key: &[u8], shard_count: u32) -> u32 {
    dougdb_plugin_sdk::hash_route(key, shard_count)
}
