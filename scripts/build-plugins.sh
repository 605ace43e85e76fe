#!/usr/bin/env bash
# Builds the wasm guests of plugins/ (their own cargo workspace) in release for
# wasm32-unknown-unknown. The host's tests and builtin_path() find the modules at
#   plugins/target/wasm32-unknown-unknown/release/<crate_name>.wasm
# (e.g. hash_router.wasm). Idempotent; run it before `cargo test` of dougdb-plugin.
set -euo pipefail
cd "$(dirname "$0")/../plugins"

TARGET=wasm32-unknown-unknown
if command -v rustup >/dev/null 2>&1; then
  rustup target add "$TARGET" >/dev/null
fi

# The root workspace's CARGO_TARGET_DIR must not redirect the guests' output.
unset CARGO_TARGET_DIR
cargo build --release --locked --target "$TARGET" \
  -p hash-router -p range-router -p leveled-compaction -p tiered-compaction

out="target/$TARGET/release"
for name in hash_router range_router leveled_compaction tiered_compaction; do
  [ -s "$out/$name.wasm" ] || { echo "build-plugins: $out/$name.wasm missing" >&2; exit 1; }
  echo "built plugins/$out/$name.wasm ($(wc -c <"$out/$name.wasm") bytes)"
done
