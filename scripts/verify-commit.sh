#!/usr/bin/env bash
# Lead's helper while several people edit one checkout: builds and tests HEAD in a clean
# worktree, and prunes Cargo.lock to exactly the committed crates (amending HEAD if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
wt=/tmp/dougdb-verify
rm -rf "$wt"; git worktree prune
git worktree add -q "$wt" HEAD
cd "$wt"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-verify}
[ -x scripts/build-plugins.sh ] && CARGO_TARGET_DIR= scripts/build-plugins.sh >/dev/null
cargo test -q --workspace --all-features "$@" 2>&1 | grep -E "^test result|^error|FAILED|panicked" | sort | uniq -c
if ! git diff --quiet Cargo.lock; then
  cp Cargo.lock /tmp/dougdb-verified.lock
  echo "verify: Cargo.lock pruned; copy in /tmp/dougdb-verified.lock"
fi
cd - >/dev/null
git worktree remove --force "$wt"
