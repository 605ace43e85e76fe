#!/usr/bin/env bash
# Short, bounded fuzz runs of every decoder target (see fuzz/fuzz_targets/), as part of
# `make test`. Long runs: `cd fuzz && cargo fuzz run TARGET --sanitizer none` (no time limit).
# Installs cargo-fuzz itself if missing. libFuzzer prints the seed of each run
# ("INFO: Seed: N"); rerun one with `-- -seed=N`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${FUZZ_SECONDS:-8}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

cd fuzz
# The stable toolchain has no sanitizers; coverage-guided fuzzing works without them, and
# every target asserts its own properties (no panic, round trips).
cargo fuzz build --sanitizer none
for target in $(cargo fuzz list); do
  echo "fuzz-smoke: $target for ${SECONDS_PER_TARGET}s"
  mkdir -p "corpus/$target"
  cargo fuzz run "$target" --sanitizer none "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=0 2>&1 \
    | grep -E "INFO: Seed|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
  # A crash leaves an artifact and makes `cargo fuzz run` exit non-zero; with pipefail off
  # for the grep above, check the artifacts directory explicitly.
  if compgen -G "artifacts/$target/[cotl][reio]*-*" >/dev/null; then
    echo "fuzz-smoke: $target found a failure: $(ls artifacts/$target/)" >&2
    exit 1
  fi
done
echo "fuzz-smoke: all targets ran"
