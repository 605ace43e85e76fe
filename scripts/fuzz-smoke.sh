#!/usr/bin/env bash
# Short, bounded fuzz runs of every decoder target, as part of `make test`. Two cargo-fuzz
# packages (fuzz/README.md lists every target and what it asserts):
#   fuzz/       light: storage formats, the server's codecs, Raft records, plugin ABI;
#   fuzz/wire/  gRPC messages (prost, tonic): Raft wire, server requests, client responses.
# Each is built, then each of its targets runs for FUZZ_SECONDS (default 8) on its working
# corpus (fuzz[/wire]/corpus/T, not committed) plus its committed seeds (seeds/T).
# Long runs: see fuzz/README.md (`cargo fuzz run T --sanitizer none`, no time limit).
# Installs cargo-fuzz itself if missing. libFuzzer prints the seed of each run
# ("INFO: Seed: N"); rerun one with `-- -seed=N`.
# FUZZ_PACKAGES="fuzz" skips the wire package (e.g. for a quick local check).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${FUZZ_SECONDS:-8}
PACKAGES=${FUZZ_PACKAGES:-"fuzz fuzz/wire"}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

root=$PWD
for package in $PACKAGES; do
  cd "$root/$package"
  started=$SECONDS
  # The stable toolchain has no sanitizers; coverage-guided fuzzing works without them,
  # and every target asserts its own properties (no panic, round trips).
  cargo fuzz build --fuzz-dir . --sanitizer none
  echo "fuzz-smoke: $package built in $((SECONDS - started))s"
  for target in $(cargo fuzz list --fuzz-dir .); do
    echo "fuzz-smoke: $package $target for ${SECONDS_PER_TARGET}s"
    mkdir -p "corpus/$target"
    seeds=()
    if [ -d "seeds/$target" ]; then seeds=("seeds/$target"); fi
    cargo fuzz run --fuzz-dir . "$target" --sanitizer none "corpus/$target" "${seeds[@]}" -- \
      -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=0 2>&1 \
      | grep -E "INFO: Seed|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
    # A crash leaves an artifact and makes `cargo fuzz run` exit non-zero; with pipefail
    # off for the grep above, check the artifacts directory explicitly.
    if compgen -G "artifacts/$target/[cotl][reio]*-*" >/dev/null; then
      echo "fuzz-smoke: $package $target found a failure: $(ls "artifacts/$target/")" >&2
      exit 1
    fi
  done
done
echo "fuzz-smoke: all targets ran"
