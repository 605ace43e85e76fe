#!/usr/bin/env bash
# Storage benchmark, like for like: DougDB's LSM and fjall (in-process, same workload code)
# and RocksDB's own db_bench (Debian's rocksdb-tools, installed here if missing), all with
# 16 B keys, 100 B values, NUM keys, a 64 MiB memtable, a 64 MiB block cache, 10-bit bloom
# filters, no compression, WAL on and not synced; then SYNC_NUM keys with an fsync per write.
#   NUM=1000000 SYNC_NUM=20000 scripts/bench-storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NUM=${NUM:-1000000}
SYNC_NUM=${SYNC_NUM:-20000}
SEEKS=$((NUM / 10))
WB=$((64 << 20))
CACHE=$((64 << 20))

echo "== DougDB and fjall (crates/dougdb-bench, db_bench binary)"
cargo run --release --locked -q -p dougdb-bench --bin db_bench -- \
  --num "$NUM" --sync-num "$SYNC_NUM" --seeks "$SEEKS" --write-buffer-mb 64 --cache-mb 64 ${BENCH_ARGS:-}

if ! command -v db_bench >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing RocksDB's db_bench (Debian package rocksdb-tools)"
    apt-get update -qq >/dev/null && apt-get install -y -qq rocksdb-tools >/dev/null
  fi
fi
if ! command -v db_bench >/dev/null 2>&1; then
  echo "== RocksDB: db_bench not available (apt-get install rocksdb-tools), skipped"
  exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
common=(--db="$dir/rocksdb" --key_size=16 --value_size=100 --compression_type=none
  --bloom_bits=10 --cache_size=$CACHE --write_buffer_size=$WB --threads=1 --histogram=1
  --seed=1)
summary() { grep -E "^(fillseq|fillrandom|overwrite|readrandom|readmissing|seekrandom|deleterandom) +:|^Percentiles" || true; }

echo "== RocksDB $(db_bench --version 2>/dev/null | head -1 || true) (db_bench, same settings)"
db_bench "${common[@]}" --num="$NUM" --benchmarks=fillseq | summary
db_bench "${common[@]}" --num="$NUM" --reads="$NUM" \
  --benchmarks=fillrandom,overwrite,readrandom,readmissing | summary
db_bench "${common[@]}" --num="$NUM" --reads="$SEEKS" --seek_nexts=10 --use_existing_db=1 \
  --benchmarks=seekrandom | summary
db_bench "${common[@]}" --num="$NUM" --use_existing_db=1 --benchmarks=deleterandom | summary
echo "rocksdb bytes on disk: $(du -sb "$dir/rocksdb" | cut -f1)"
rm -rf "$dir/rocksdb"
echo "== RocksDB, fsync every write ($SYNC_NUM keys)"
db_bench "${common[@]}" --num="$SYNC_NUM" --sync=1 --benchmarks=fillrandom | summary
