//! The built-in routers as built by scripts/build-plugins.sh: placement, configuration,
//! the compile cache, fuel accounting, and use from several threads.
// Tests and their helpers may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{builtin, good_router, host, seed};
use dougdb_plugin::{
    BUILTIN_PLUGINS, Digest, Limits, Plugin, PluginError, PluginHost, PluginKind, hash_route,
    range_router_config,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

#[test]
fn hash_router_wasm_equals_native_hash_route_on_random_keys() {
    let mut rng = StdRng::seed_from_u64(seed());
    let router = host()
        .load_router("hash-router", &builtin("hash-router"), &[])
        .unwrap();
    for shard_count in [1, 2, 3, 7, 16, 1000, u32::MAX] {
        let keys: Vec<Vec<u8>> = (0..256)
            .map(|_| {
                let len = rng.random_range(0..100);
                (0..len).map(|_| rng.random()).collect()
            })
            .collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let wasm = router.route(&refs, shard_count).unwrap();
        let native: Vec<u32> = refs.iter().map(|k| hash_route(k, shard_count)).collect();
        assert_eq!(wasm, native, "shard_count {shard_count}");
    }
}

#[test]
fn hash_router_wasm_gives_the_documented_placement_vectors() {
    let router = host()
        .load_router("hash-router", &builtin("hash-router"), &[])
        .unwrap();
    assert_eq!(
        router.route(&[b"", b"a", b"abc"], 16).unwrap(),
        vec![14, 13, 4]
    );
    assert_eq!(router.route_one(b"user:42", 3).unwrap(), 2);
    assert_eq!(router.route_one(b"user:42", 1024).unwrap(), 880);
}

#[test]
fn range_router_sends_keys_to_the_range_of_their_split_points() {
    let config = range_router_config(&[b"g", b"p"]);
    let router = host()
        .load_router("range", &builtin("range-router"), &config)
        .unwrap();
    let keys: [&[u8]; 6] = [b"", b"f", b"g", b"ozzz", b"p", b"zzz"];
    assert_eq!(router.route(&keys, 3).unwrap(), vec![0, 0, 1, 1, 2, 2]);
}

#[test]
fn range_router_refuses_descending_split_points_at_load() {
    let config = range_router_config(&[b"p", b"g"]);
    let err = host()
        .load_router("range", &builtin("range-router"), &config)
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::Init { reason, .. } if reason.contains("strictly ascending")),
        "{err}"
    );
}

#[test]
fn range_router_asked_for_another_shard_count_traps_with_its_panic_message() {
    let config = range_router_config(&[b"m"]);
    let router = host()
        .load_router("range", &builtin("range-router"), &config)
        .unwrap();
    let err = router.route(&[b"k"], 5).unwrap_err();
    assert!(
        matches!(&err, PluginError::Trap { message, .. } if message.contains("2 ranges but was asked for 5")),
        "{err}"
    );
    assert_eq!(
        router.route(&[b"k"], 2).unwrap(),
        vec![0],
        "works again after the trap"
    );
}

#[test]
fn config_for_a_plugin_without_init_is_refused() {
    let err = host()
        .load_router("hash", &builtin("hash-router"), b"x")
        .unwrap_err();
    assert!(matches!(err, PluginError::Init { .. }), "{err}");
}

#[test]
fn every_builtin_loads_as_its_declared_kind() {
    let host = host();
    for (name, kind) in BUILTIN_PLUGINS {
        let config = if name == "range-router" {
            range_router_config(&[])
        } else {
            vec![]
        };
        let found = match host.load(name, &builtin(name), &config).unwrap() {
            Plugin::Router(_) => PluginKind::Router,
            Plugin::Compaction(_) => PluginKind::Compaction,
        };
        assert_eq!(found, kind, "{name}");
    }
    let err = host
        .load_compaction("hash", &builtin("hash-router"), &[])
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::MissingExport { export, .. } if export == "dougdb_pick"),
        "{err}"
    );
}

#[test]
fn a_module_is_compiled_once_per_digest() {
    let host = host();
    let wasm = builtin("hash-router");
    let a = host.load_router("a", &wasm, &[]).unwrap();
    let b = host.load_router("b", &wasm, &[]).unwrap();
    assert_eq!(host.modules_compiled(), 1);
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.digest(), Digest::of(&wasm));
    assert_eq!(Digest::from_hex(&a.digest().to_string()), Some(a.digest()));
    host.load_router("other", &good_router(), &[]).unwrap();
    assert_eq!(host.modules_compiled(), 2);
}

#[test]
fn fuel_is_reported_and_scales_with_the_batch() {
    let router = host()
        .load_router("hash", &builtin("hash-router"), &[])
        .unwrap();
    router.route(&[b"key-0"], 8).unwrap();
    let one = router.last_fuel_used();
    let keys: Vec<Vec<u8>> = (0..256).map(|i| format!("key-{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    router.route(&refs, 8).unwrap();
    let many = router.last_fuel_used();
    println!("fuel: 1 key {one}, 256 keys {many}");
    assert!(one > 0 && many > 10 * one, "one {one}, many {many}");
}

#[test]
fn budget_grows_with_batch_size_so_big_batches_fit_and_tiny_budgets_do_not() {
    let wasm = builtin("hash-router");
    let tight = Limits {
        fuel_base: 2_000,
        fuel_per_key: 0,
        fuel_per_byte: 0,
        ..Limits::default()
    };
    let keys: Vec<Vec<u8>> = (0..4096).map(|i| format!("key-{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let tight_host = PluginHost::new(tight).unwrap();
    let router = tight_host.load_router("hash", &wasm, &[]).unwrap();
    assert!(matches!(
        router.route(&refs, 8),
        Err(PluginError::OutOfFuel { .. })
    ));
    let router = host().load_router("hash", &wasm, &[]).unwrap();
    assert_eq!(router.route(&refs, 8).unwrap().len(), 4096);
}

#[test]
fn router_is_shared_across_threads_with_identical_answers() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<dougdb_plugin::Router>();
    assert_send_sync::<PluginHost>();
    let router = host()
        .load_router("hash", &builtin("hash-router"), &[])
        .unwrap();
    let keys: Vec<Vec<u8>> = (0..512).map(|i| format!("user:{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let want = router.route(&refs, 12).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(router.route(&refs, 12).unwrap(), want);
                }
            });
        }
    });
}
