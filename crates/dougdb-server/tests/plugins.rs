//! The cluster file's plugins on a node: the routing plugin is loaded, checked against its
//! digest, copied into the data dir and served from there; the compaction policy is a
//! native policy or a wasm plugin. Needs the built-in plugins (`scripts/build-plugins.sh`,
//! run by `make test`).

use dougdb_plugin::Digest;
use dougdb_server::Error;
use dougdb_server::cluster::{CompactionEntry, RoutingEntry};
use dougdb_server::plugins::{ROUTING_WASM_FILE, load_compaction, load_routing};

fn range(splits: &[&str]) -> RoutingEntry {
    RoutingEntry {
        name: "range".into(),
        splits: splits.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn plugin_reason(e: Error) -> String {
    match e {
        Error::Plugin { reason, .. } => reason,
        other => panic!("expected a plugin error, got {other}"),
    }
}

#[test]
fn the_hash_router_needs_no_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let r = load_routing(&RoutingEntry::default(), dir.path()).unwrap();
    assert!(r.wasm.is_none() && r.sha256.is_none() && r.config.is_empty());
    assert!(!dir.path().join(ROUTING_WASM_FILE).exists());
}

#[test]
fn the_range_router_is_loaded_copied_and_served_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let r = load_routing(&range(&["m"]), dir.path()).unwrap();
    let wasm = r.wasm.clone().unwrap();
    assert_eq!(Some(Digest::of(&wasm).0), r.sha256);
    assert_eq!(r.config, dougdb_plugin::range_router_config(&[b"m"]));
    let copy = dir.path().join(ROUTING_WASM_FILE);
    assert_eq!(std::fs::read(&copy).unwrap(), &wasm[..]);
    // Later starts serve the copy, checked against the digest the file gives.
    let pinned = RoutingEntry {
        sha256: Digest::of(&wasm).to_string(),
        ..range(&["m"])
    };
    let again = load_routing(&pinned, dir.path()).unwrap();
    assert_eq!(again.sha256, r.sha256);
    // A damaged copy is refused, never served.
    let mut bad = wasm.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(&copy, &bad).unwrap();
    let reason = plugin_reason(load_routing(&pinned, dir.path()).unwrap_err());
    assert!(reason.contains("data dir's copy"), "{reason}");
}

#[test]
fn a_wrong_digest_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let entry = RoutingEntry {
        sha256: "00".repeat(32),
        ..range(&["m"])
    };
    let reason = plugin_reason(load_routing(&entry, dir.path()).unwrap_err());
    assert!(reason.contains("sha256"), "{reason}");
    assert!(!dir.path().join(ROUTING_WASM_FILE).exists());
}

#[test]
fn a_bad_configuration_or_source_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Split points must be strictly ascending: the plugin's init refuses them.
    let reason = plugin_reason(load_routing(&range(&["m", "a"]), dir.path()).unwrap_err());
    assert!(reason.contains("ascending"), "{reason}");
    let unknown = RoutingEntry {
        name: "mine".into(),
        ..Default::default()
    };
    let reason = plugin_reason(load_routing(&unknown, dir.path()).unwrap_err());
    assert!(reason.contains("path"), "{reason}");
    let missing = RoutingEntry {
        name: "mine".into(),
        path: Some(dir.path().join("nope.wasm")),
        ..Default::default()
    };
    let reason = plugin_reason(load_routing(&missing, dir.path()).unwrap_err());
    assert!(reason.contains("nope.wasm"), "{reason}");
    let not_wasm = dir.path().join("junk.wasm");
    std::fs::write(&not_wasm, b"not a wasm module").unwrap();
    let junk = RoutingEntry {
        name: "junk".into(),
        path: Some(not_wasm),
        ..Default::default()
    };
    load_routing(&junk, dir.path()).unwrap_err();
    let hash_with_config = RoutingEntry {
        name: "hash".into(),
        config_hex: "00".into(),
        ..Default::default()
    };
    load_routing(&hash_with_config, dir.path()).unwrap_err();
}

#[test]
fn compaction_policies_by_name_or_wasm_file() {
    let by_name = |name: &str| CompactionEntry {
        name: name.into(),
        ..Default::default()
    };
    assert_eq!(
        load_compaction(&by_name("")).unwrap().policy.name(),
        "leveled"
    );
    assert_eq!(
        load_compaction(&by_name("tiered")).unwrap().policy.name(),
        "size-tiered"
    );
    let reason = plugin_reason(load_compaction(&by_name("fancy")).unwrap_err());
    assert!(reason.contains("path"), "{reason}");
    let wasm = CompactionEntry {
        name: "tiered-wasm".into(),
        path: Some(dougdb_plugin::builtin_path("tiered-compaction")),
        sha256: String::new(),
    };
    let c = load_compaction(&wasm).unwrap();
    assert!(c.plugin.is_some());
    assert_eq!(c.failures(), 0);
    let wrong = CompactionEntry {
        sha256: "11".repeat(32),
        ..wasm
    };
    plugin_reason(load_compaction(&wrong).unwrap_err());
}
