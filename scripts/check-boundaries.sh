#!/usr/bin/env bash
# Enforces the crate boundaries of DESIGN.md: `cargo tree -e normal` of each crate must
# not list the crates it may not know.
set -euo pipefail
cd "$(dirname "$0")/.."

# Direct dependencies only: for a crate that may use another crate which itself wires the
# forbidden ones (dougdb-py runs dougdb-server, which links Raft and storage).
forbid_direct() { # crate, forbidden...
  local crate=$1; shift
  [ -d "crates/$crate" ] || return 0
  local direct
  direct=$(cargo tree -p "$crate" -e normal --depth 1 --prefix none --locked 2>/dev/null | awk '{print $1}' | sort -u)
  for bad in "$@"; do
    if grep -qx "$bad" <<<"$direct"; then
      echo "boundary violation: $crate depends directly on $bad" >&2
      exit 1
    fi
  done
}

forbid() { # crate, forbidden...
  local crate=$1; shift
  [ -d "crates/$crate" ] || return 0
  local tree
  tree=$(cargo tree -p "$crate" -e normal --prefix none --locked 2>/dev/null | awk '{print $1}' | sort -u)
  for bad in "$@"; do
    if grep -qx "$bad" <<<"$tree"; then
      echo "boundary violation: $crate depends on $bad" >&2
      exit 1
    fi
  done
}

forbid dougdb-raft tokio tonic dougdb-storage rand wasmtime
forbid dougdb-storage dougdb-raft tonic tokio wasmtime dougdb-plugin
forbid dougdb-plugin tonic dougdb-raft dougdb-server
forbid dougdb-client dougdb-storage dougdb-raft dougdb-server
forbid dougdb-server pyo3
# The checker is pure std: anything that records a history can link it.
forbid dougdb-check dougdb-raft dougdb-storage dougdb-client dougdb-server tokio tonic rand pyo3 wasmtime
# dougdb-py is thin: client, server (to run a node in-process), proto and the plugin host;
# never Raft or storage internals directly.
forbid_direct dougdb-py dougdb-raft dougdb-storage
echo "crate boundaries: ok"
