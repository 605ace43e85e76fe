//! Where the built-in plugins are. They are built by `scripts/build-plugins.sh` (the Rust
//! crates compile without them), into the guest workspace's target directory.

use std::path::PathBuf;

use dougdb_plugin_abi::encode_keys;

use crate::{PluginError, PluginKind, Result};

/// The built-in plugins, by the name [`builtin_path`] takes.
pub const BUILTIN_PLUGINS: [(&str, PluginKind); 4] = [
    ("hash-router", PluginKind::Router),
    ("range-router", PluginKind::Router),
    ("leveled-compaction", PluginKind::Compaction),
    ("tiered-compaction", PluginKind::Compaction),
];

/// The directory of the built `.wasm` files: `$DOUGDB_PLUGIN_DIR` when set (installed
/// copies), else `plugins/target/wasm32-unknown-unknown/release` in this repository.
pub fn plugins_dir() -> PathBuf {
    match std::env::var_os("DOUGDB_PLUGIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../plugins/target/wasm32-unknown-unknown/release"),
    }
}

/// The file of built-in plugin `name` (`"hash-router"` -> `.../hash_router.wasm`).
pub fn builtin_path(name: &str) -> PathBuf {
    plugins_dir().join(format!("{}.wasm", name.replace('-', "_")))
}

/// The bytes of built-in plugin `name`, with a hint to build them when they are missing.
pub fn read_builtin(name: &str) -> Result<Vec<u8>> {
    let path = builtin_path(name);
    std::fs::read(&path).map_err(|err| PluginError::Io {
        plugin: name.into(),
        path: path.clone(),
        source: std::io::Error::new(
            err.kind(),
            format!("{err}; run scripts/build-plugins.sh to build the built-in plugins"),
        ),
    })
}

/// The configuration of `range-router`: its split points, strictly ascending, in the
/// encoding of a route call's keys. `n` split points make `n + 1` shards.
pub fn range_router_config(splits: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_keys(splits, &mut out);
    out
}
