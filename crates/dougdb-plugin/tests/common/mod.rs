//! Shared helpers of the host's integration tests: a host, hand-written WAT plugins, the
//! built-in plugins' bytes, seeds.
#![allow(dead_code)]

use dougdb_plugin::{Limits, PluginHost, read_builtin};

pub fn host() -> PluginHost {
    PluginHost::new(Limits::default()).unwrap()
}

/// The built-in plugin `name`, which scripts/build-plugins.sh must have built.
pub fn builtin(name: &str) -> Vec<u8> {
    match read_builtin(name) {
        Ok(bytes) => bytes,
        Err(err) => panic!("{err}\n(run scripts/build-plugins.sh before these tests)"),
    }
}

/// A seed from DOUGDB_SEED or fresh, printed so a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("DOUGDB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (replay with DOUGDB_SEED={seed})");
    seed
}

/// A router module: `version` is the marker's value, `route_body` the body of
/// `dougdb_route(ptr, len, n) -> i64` (locals `$count`, `$out` available, and `$pack` to
/// pack an answer), `extra` more module fields. The allocator is a bump allocator that
/// `dougdb_free` resets (the host frees everything after each call).
pub fn router_wat(version: i32, route_body: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  {extra}
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "dougdb_abi_version") (result i32) (i32.const {version}))
  (func $alloc (export "dougdb_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump
      (i32.and (i32.add (i32.add (global.get $bump) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "dougdb_free") (param i32 i32) (global.set $bump (i32.const 1024)))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 32))
            (i64.extend_i32_u (local.get $ptr))))
  (func (export "dougdb_route") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (local $count i32) (local $out i32)
    (local.set $count (i32.load (local.get $ptr)))
    (local.set $out (call $alloc (i32.mul (local.get $count) (i32.const 4))))
    {route_body})
)"#
    ))
    .unwrap()
}

/// A well-behaved body: every key to shard 0.
pub const ALL_ZERO: &str = r#"
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $count) (i32.const 4)))
    (call $pack (local.get $out) (i32.mul (local.get $count) (i32.const 4)))"#;

pub fn good_router() -> Vec<u8> {
    router_wat(1, ALL_ZERO, "")
}
