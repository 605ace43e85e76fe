//! The files of a new plugin crate, for `dougdb plugin new NAME --kind router|compaction`:
//! a `cdylib` against the SDK with a release profile fit for wasm, and one function to fill.

use std::path::{Path, PathBuf};

use crate::PluginKind;

const ROUTER_LIB: &str = r#"//! A DougDB routing plugin. Must be a pure function of (key, shard_count): see
//! docs/plugins.md, "Determinism a routing plugin must keep".

use dougdb_plugin_sdk::router;

#[router]
fn route(key: &[u8], shard_count: u32) -> u32 {
    dougdb_plugin_sdk::hash_route(key, shard_count)
}
"#;

const COMPACTION_LIB: &str = r#"//! A DougDB compaction policy: decides, the storage engine validates and merges.

use dougdb_plugin_sdk::{CompactionTask, LevelsSummary, compaction_policy};

#[compaction_policy]
fn pick(summary: &LevelsSummary) -> Option<CompactionTask> {
    // Merge all of level 0 into level 1 once it holds 4 tables.
    let l0 = &summary.levels.first()?.tables;
    (l0.len() >= 4).then(|| CompactionTask {
        inputs: l0.iter().map(|t| t.id).collect(),
        output_level: 1,
    })
}
"#;

/// `(relative path, contents)` of a new plugin crate named `name` (a cargo package name),
/// depending on the SDK at `sdk_dir`. The caller writes them under the crate's directory.
pub fn scaffold_files(name: &str, kind: PluginKind, sdk_dir: &Path) -> Vec<(PathBuf, String)> {
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
dougdb-plugin-sdk = {{ path = "{sdk}" }}

# Its own workspace, so it builds wherever it is created.
[workspace]

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#,
        sdk = sdk_dir.display().to_string().replace('\\', "/"),
    );
    let lib = match kind {
        PluginKind::Router => ROUTER_LIB,
        PluginKind::Compaction => COMPACTION_LIB,
    };
    vec![
        (PathBuf::from("Cargo.toml"), cargo_toml),
        (PathBuf::from("src/lib.rs"), lib.to_string()),
        (PathBuf::from(".gitignore"), "/target\n".to_string()),
    ]
}

/// The SDK in this repository (`plugins/sdk`).
pub fn sdk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_scaffold_is_a_cdylib_using_the_router_macro() {
        let files = scaffold_files("my-router", PluginKind::Router, Path::new("/sdk"));
        let toml = &files[0].1;
        assert!(toml.contains(r#"name = "my-router""#));
        assert!(toml.contains(r#"crate-type = ["cdylib", "rlib"]"#));
        assert!(toml.contains(r#"dougdb-plugin-sdk = { path = "/sdk" }"#));
        assert!(files[1].1.contains("#[router]"));
    }

    #[test]
    fn compaction_scaffold_uses_the_compaction_macro() {
        let files = scaffold_files("p", PluginKind::Compaction, Path::new("/sdk"));
        assert!(files[1].1.contains("#[compaction_policy]"));
    }
}
