//! Hostile and broken plugins: each gives its typed error quickly, and the host (and the
//! plugin, when the fault depends on the input) keeps working afterwards.
// Tests and their helpers may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ALL_ZERO, good_router, host, router_wat};
use dougdb_plugin::{PluginError, PluginHost};

/// Generous for a debug build; a runaway plugin would take far longer.
const FAST: Duration = Duration::from_secs(5);

fn assert_host_still_usable(host: &PluginHost) {
    let router = host.load_router("good", &good_router(), &[]).unwrap();
    assert_eq!(router.route(&[b"a", b"b"], 4).unwrap(), vec![0, 0]);
}

/// Loads `wasm` as a router and routes one batch; returns the error and checks timing.
fn route_err(host: &PluginHost, wasm: &[u8]) -> PluginError {
    let start = Instant::now();
    let err = match host.load_router("bad", wasm, &[]) {
        Err(err) => err,
        Ok(router) => router.route(&[b"k1", b"k2", b"k3"], 4).unwrap_err(),
    };
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    assert_eq!(err.plugin(), "bad", "{err}");
    println!("{err}");
    err
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let host = host();
    let wasm = router_wat(1, "(loop $l (br $l)) (unreachable)", "");
    let err = route_err(&host, &wasm);
    assert!(
        matches!(err, PluginError::OutOfFuel { fuel, .. } if fuel > 0),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn memory_bomb_in_a_call_hits_the_memory_limit() {
    let host = host();
    let body = r#"(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
                  (unreachable)"#;
    let err = route_err(&host, &router_wat(1, body, ""));
    assert!(
        matches!(err, PluginError::MemoryLimit { limit_bytes, .. } if limit_bytes == 64 << 20),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn memory_bomb_at_instantiation_hits_the_memory_limit() {
    let host = host();
    // 2000 pages of 64 KiB: more than the 64 MiB cap before any code runs.
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 2000)
             (func (export "dougdb_abi_version") (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let err = route_err(&host, &wasm);
    assert!(matches!(err, PluginError::MemoryLimit { .. }), "{err}");
    assert_host_still_usable(&host);
}

#[test]
fn trap_is_reported_with_the_plugins_last_error_line() {
    let host = host();
    let extra = r#"(import "dougdb" "log" (func $log (param i32 i32 i32)))
                   (data (i32.const 16) "boom: bad key")"#;
    let body = "(call $log (i32.const 0) (i32.const 16) (i32.const 13)) (unreachable)";
    let err = route_err(&host, &router_wat(1, body, extra));
    match &err {
        PluginError::Trap { message, .. } => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(message.contains("boom: bad key"), "{message}");
        }
        other => panic!("expected Trap, got {other}"),
    }
    assert_host_still_usable(&host);
}

#[test]
fn stack_overflow_is_a_trap() {
    let host = host();
    let extra = "(func $deep (call $deep))";
    let err = route_err(&host, &router_wat(1, "(call $deep) (unreachable)", extra));
    assert!(
        matches!(&err, PluginError::Trap { message, .. } if message.contains("stack")),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn wrong_abi_version_is_bad_abi() {
    let host = host();
    let err = route_err(&host, &router_wat(2, ALL_ZERO, ""));
    assert!(
        matches!(
            err,
            PluginError::BadAbi {
                found: 2,
                expected: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn missing_export_is_named() {
    let host = host();
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "dougdb_abi_version") (result i32) (i32.const 1))
             (func (export "dougdb_free") (param i32 i32))
             (func (export "dougdb_route") (param i32 i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let err = route_err(&host, &wasm);
    assert!(
        matches!(&err, PluginError::MissingExport { export, .. } if export == "dougdb_alloc"),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn missing_version_marker_is_a_missing_export() {
    let host = host();
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let err = route_err(&host, &wasm);
    assert!(
        matches!(&err, PluginError::MissingExport { export, .. } if export == "dougdb_abi_version"),
        "{err}"
    );
}

#[test]
fn wrong_entry_signature_is_bad_signature() {
    let host = host();
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "dougdb_abi_version") (result i32) (i32.const 1))
             (func (export "dougdb_alloc") (param i32) (result i32) (i32.const 0))
             (func (export "dougdb_free") (param i32 i32))
             (func (export "dougdb_route") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let err = route_err(&host, &wasm);
    assert!(
        matches!(&err, PluginError::BadSignature { item, .. } if item == "dougdb_route"),
        "{err}"
    );
}

#[test]
fn wasi_import_is_forbidden_and_named() {
    let host = host();
    let extra = r#"(import "wasi_snapshot_preview1" "fd_write"
                     (func (param i32 i32 i32 i32) (result i32)))"#;
    let err = route_err(&host, &router_wat(1, ALL_ZERO, extra));
    assert!(
        matches!(&err, PluginError::ForbiddenImport { module, name, .. }
            if module == "wasi_snapshot_preview1" && name == "fd_write"),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn shard_index_out_of_range_is_bad_output() {
    let host = host();
    // Every key to shard `n`: one past the last valid index.
    let body = r#"(i32.store (local.get $out) (local.get $n))
                  (i32.store offset=4 (local.get $out) (local.get $n))
                  (i32.store offset=8 (local.get $out) (local.get $n))
                  (call $pack (local.get $out) (i32.mul (local.get $count) (i32.const 4)))"#;
    let err = route_err(&host, &router_wat(1, body, ""));
    assert!(
        matches!(&err, PluginError::BadOutput { reason, .. } if reason.contains("out of range")),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn output_pointer_past_memory_is_bad_output() {
    let host = host();
    let body = "(call $pack (i32.const 0xFFFF0000) (i32.mul (local.get $count) (i32.const 4)))";
    let err = route_err(&host, &router_wat(1, body, ""));
    assert!(
        matches!(&err, PluginError::BadOutput { reason, .. } if reason.contains("past the end of memory")),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn allocator_returning_a_pointer_past_memory_is_bad_output() {
    let host = host();
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "dougdb_abi_version") (result i32) (i32.const 1))
             (func (export "dougdb_alloc") (param i32) (result i32) (i32.const 0x7FFFFFF0))
             (func (export "dougdb_free") (param i32 i32))
             (func (export "dougdb_route") (param i32 i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let err = route_err(&host, &wasm);
    assert!(matches!(err, PluginError::BadOutput { .. }), "{err}");
}

#[test]
fn not_wasm_at_all_is_not_wasm() {
    let host = host();
    for bytes in [
        &b"hello, I am not a wasm module"[..],
        b"\x7fELF\x02\x01\x01",
        b"(module)",
    ] {
        let err = route_err(&host, bytes);
        assert!(matches!(err, PluginError::NotWasm { .. }), "{err}");
    }
    assert_host_still_usable(&host);
}

#[test]
fn corrupt_wasm_after_the_magic_is_a_compile_error() {
    let host = host();
    let mut wasm = good_router();
    wasm.truncate(wasm.len() / 2);
    let err = route_err(&host, &wasm);
    assert!(matches!(err, PluginError::Compile { .. }), "{err}");
    assert_host_still_usable(&host);
}

#[test]
fn zero_byte_file_is_not_wasm() {
    let host = host();
    let err = route_err(&host, &[]);
    assert!(
        matches!(&err, PluginError::NotWasm { reason, .. } if reason.contains("0 bytes")),
        "{err}"
    );
    assert_host_still_usable(&host);
}

#[test]
fn after_a_trap_the_instance_is_replaced_and_the_plugin_keeps_working() {
    let host = host();
    // Traps only for 13 shards.
    let body =
        format!("(if (i32.eq (local.get $n) (i32.const 13)) (then (unreachable))) {ALL_ZERO}");
    let router = host
        .load_router("picky", &router_wat(1, &body, ""), &[])
        .unwrap();
    assert_eq!(router.instances_made(), 1);
    assert!(matches!(
        router.route(&[b"k"], 13),
        Err(PluginError::Trap { .. })
    ));
    assert_eq!(router.route(&[b"k"], 4).unwrap(), vec![0]);
    assert_eq!(router.instances_made(), 2);
    assert_eq!(router.route(&[b"k"], 4).unwrap(), vec![0]);
    assert_eq!(router.instances_made(), 2, "a healthy instance is reused");
}

#[test]
fn zero_shards_and_oversized_batches_are_refused_before_calling_the_plugin() {
    let host = host();
    let router = host.load_router("good", &good_router(), &[]).unwrap();
    assert!(matches!(
        router.route(&[b"k"], 0),
        Err(PluginError::InvalidArgument { .. })
    ));
    let keys: Vec<&[u8]> = vec![b"k"; host.limits().batch_keys_max + 1];
    assert!(matches!(
        router.route(&keys, 4),
        Err(PluginError::InvalidArgument { .. })
    ));
    assert_eq!(router.instances_made(), 1);
}
