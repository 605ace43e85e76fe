#!/usr/bin/env bash
# DougDB against etcd, side by side on this machine: a 3-member etcd cluster and a
# 3-node DougDB cluster on 127.0.0.1, both with fsync on (etcd's default, DougDB's
# default), driven by the same closed-loop `load` binary (16 B keys, 256 B values, the
# same pre-loaded key space). Rounds are interleaved (etcd, DougDB, etcd, DougDB, ...) so
# a slow spell of the machine hits both; the report keeps the better of the rounds.
# Then DougDB alone: put throughput with 1, 2, 4 shards, and the Python client's overhead
# against the Rust client on one running cluster.
#
#   SECONDS=5 scripts/bench-compare.sh          (or `make bench-compare`)
#
# Environment: SECONDS per row (default 5), CLIENTS (default 1,16,64,256), ROUNDS per
# system (default 2), KEYSPACE (default 100000), SHARDS (default 1,2,4), SHARD_CLIENTS
# (default 64,256), CONNECTIONS per load run (default 4), ETCD_TARGET_LEADER=1 to send
# every etcd request to its leader, SKIP_PYTHON=1 to skip the Python section (which runs
# `make develop` and a release `maturin develop`).
# Raw rows (JSON) and logs go to bench-results/compare-<time>/; etcd's data dirs live in
# a temp dir removed on exit.
set -euo pipefail
# SECONDS is bash's own "seconds since this shell started": imported from the
# environment it keeps counting from the value given, so read what was passed from our
# initial environment, not the (possibly ticked) variable.
SECS=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p')
SECS=${BENCH_SECONDS:-${SECS:-5}}
cd "$(dirname "$0")/.."
ROOT=$PWD
CLIENTS=${CLIENTS:-1,16,64,256}
ROUNDS=${ROUNDS:-2}
KEYSPACE=${KEYSPACE:-100000}
SHARDS=${SHARDS:-1,2,4}
SHARD_CLIENTS=${SHARD_CLIENTS:-64,256}
CONNECTIONS=${CONNECTIONS:-4}
SKIP_PYTHON=${SKIP_PYTHON:-0}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD="$TARGET_DIR/release/load"
OUT="$ROOT/bench-results/compare-$(date +%Y%m%d-%H%M%S)"
case "$SECS" in '' | *[!0-9]* | 0) echo "SECONDS must be a positive integer, got '$SECS'" >&2; exit 2 ;; esac

# ---- etcd, builds ----------------------------------------------------------------------
if ! command -v etcd >/dev/null 2>&1; then
  echo "== installing etcd (Debian package etcd-server)"
  apt-get install -y -qq etcd-server >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq etcd-server >/dev/null; }
fi
ETCD_VERSION=$(etcd --version | sed -n 's/^etcd Version: //p')
if pgrep -x etcd >/dev/null; then
  echo "warning: an etcd is already running on this machine (pid $(pgrep -x etcd | tr '\n' ' ')); it competes for CPU" >&2
fi

mkdir -p "$OUT"
echo "== building release dougdb-server and load"
cargo build --release --locked -q -p dougdb-server -p dougdb-bench
if [ "$SKIP_PYTHON" != 1 ]; then
  # `make develop` builds the extension in the dev profile (for the tests); the numbers
  # below are taken with it rebuilt in release.
  echo "== Python package: make develop, then the extension rebuilt in release (log: $OUT/develop.log)"
  if ! { make -s develop && VIRTUAL_ENV="$ROOT/.venv" .venv/bin/maturin develop --release -q; } \
    >"$OUT/develop.log" 2>&1; then
    tail -30 "$OUT/develop.log" >&2
    exit 1
  fi
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- a 3-member etcd cluster -----------------------------------------------------------
# Free ports: bound to 127.0.0.1:0 together, then released for etcd to take.
read -r -a PORTS <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
INITIAL=""
for i in 0 1 2; do INITIAL+="${INITIAL:+,}m$i=http://127.0.0.1:${PORTS[$((3 + i))]}"; done
ETCD_ENDPOINTS=""
for i in 0 1 2; do
  client="http://127.0.0.1:${PORTS[$i]}" peer="http://127.0.0.1:${PORTS[$((3 + i))]}"
  ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}127.0.0.1:${PORTS[$i]}"
  # Defaults otherwise (fsync on every commit, snapshot count, heartbeat 100 ms,
  # election 1000 ms); only logging is turned down.
  etcd --name "m$i" --data-dir "$WORK/etcd-m$i" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$INITIAL" --initial-cluster-state new \
    --initial-cluster-token "dougdb-bench-$$" \
    --logger zap --log-level error >"$OUT/etcd-m$i.log" 2>&1 &
  PIDS+=($!)
done
echo "== etcd $ETCD_VERSION: 3 members at $ETCD_ENDPOINTS"
for i in 0 1 2; do
  for try in $(seq 300); do
    curl -fsS "http://127.0.0.1:${PORTS[$i]}/health" 2>/dev/null | grep -q '"health":"true"' && break
    kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "etcd m$i exited:" >&2; cat "$OUT/etcd-m$i.log" >&2; exit 1; }
    [ "$try" = 300 ] && { echo "etcd m$i not healthy within 30 s" >&2; exit 1; }
    sleep 0.1
  done
done

# The member that leads now (its grpc-gateway's status names the leader), host:port.
etcd_leader() {
  local i status
  for i in 0 1 2; do
    status=$(curl -fsS -X POST -d '{}' "http://127.0.0.1:${PORTS[$i]}/v3/maintenance/status") || continue
    if python3 -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(s["header"]["member_id"] != s["leader"])' "$status"; then
      echo "127.0.0.1:${PORTS[$i]}"
      return
    fi
  done
  echo "no etcd leader found" >&2
  return 1
}

# ---- interleaved rounds ----------------------------------------------------------------
# etcd's connections: like etcd's own tools/benchmark by default, connection i dials
# member i % 3 and task j uses connection j % CONNECTIONS (followers forward writes and
# ReadIndex to the leader); ETCD_TARGET_LEADER=1 dials only the leader, like its
# --target-leader.
if [ "${ETCD_TARGET_LEADER:-0}" = 1 ]; then
  ETCD_NOTE="etcd: $CONNECTIONS connections, all to the leader (ETCD_TARGET_LEADER=1)"
else
  ETCD_NOTE="etcd: $CONNECTIONS connections, connection i to member i % 3 (etcd tools/benchmark's default)"
fi
common=(--seconds "$SECS" --clients "$CLIENTS" --keyspace "$KEYSPACE" --connections "$CONNECTIONS")
for r in $(seq "$ROUNDS"); do
  etcd_targets=$ETCD_ENDPOINTS
  [ "${ETCD_TARGET_LEADER:-0}" = 1 ] && etcd_targets=$(etcd_leader)
  echo "== round $r/$ROUNDS: etcd at $etcd_targets"
  "$LOAD" --target etcd --endpoints "$etcd_targets" "${common[@]}" \
    --json "$OUT/etcd-$r.json" >"$OUT/etcd-$r.txt"
  echo "== round $r/$ROUNDS: DougDB (a fresh cluster started by load)"
  "$LOAD" "${common[@]}" --json "$OUT/dougdb-$r.json" >"$OUT/dougdb-$r.txt"
done
cleanup # etcd down: the DougDB-only sections get the machine to themselves
WORK=$(mktemp -d)

# ---- DougDB shard scaling --------------------------------------------------------------
for s in ${SHARDS//,/ }; do
  echo "== DougDB put with $s shard(s)"
  "$LOAD" --ops put --clients "$SHARD_CLIENTS" --shards "$s" --seconds "$SECS" \
    --connections "$CONNECTIONS" --json "$OUT/shards-$s.json" >"$OUT/shards-$s.txt"
done

# ---- Python client against the Rust client, one running cluster ------------------------
if [ "$SKIP_PYTHON" != 1 ]; then
  echo "== Python client vs Rust client (extension built with maturin develop --release)"
  # Up for at most an hour; stopped (SIGTERM) as soon as this section is done.
  "$LOAD" --serve-only 3600 >"$WORK/serve.out" 2>"$OUT/serve.log" &
  PIDS+=($!)
  DOUG_ENDPOINTS=""
  for _ in $(seq 600); do
    DOUG_ENDPOINTS=$(sed -n 's/^endpoints //p' "$WORK/serve.out")
    [ -n "$DOUG_ENDPOINTS" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$DOUG_ENDPOINTS" ] || { echo "DougDB cluster not ready within 60 s" >&2; exit 1; }
  "$LOAD" --endpoints "$DOUG_ENDPOINTS" --ops put --clients 1 --connections 1 \
    --seconds "$SECS" --json "$OUT/rust-put1.json" >"$OUT/rust-put1.txt"
  .venv/bin/python scripts/bench_compare_report.py python-client \
    --endpoints "$DOUG_ENDPOINTS" --seconds "$SECS" --keyspace "$KEYSPACE" \
    --json "$OUT/python.json"
  cleanup
fi

# ---- the report ------------------------------------------------------------------------
echo
python3 scripts/bench_compare_report.py report --dir "$OUT" --rounds "$ROUNDS" \
  --etcd-version "$ETCD_VERSION" --seconds "$SECS" --keyspace "$KEYSPACE" \
  --note "$ETCD_NOTE; DougDB: $CONNECTIONS Rust client handles (client-side routing to leaders)." \
  | tee "$OUT/report.txt"
echo "(raw rows and logs: $OUT)"
