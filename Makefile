# DougDB: thin wrappers, each self-contained on a fresh clone.
#   make test   build everything and run every test (what CI runs)
#   make bench  build in release and run the benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test test-rust lint boundaries fuzz-smoke bench bench-storage bench-raft bench-plugin bench-cluster sim plugins

SEEDS ?= 100000
START ?= 0

test: plugins lint test-rust boundaries fuzz-smoke
	@echo "make test: all green"

# wasm guests (own workspace, wasm32-unknown-unknown): the host's tests load the fresh files
plugins:
	scripts/build-plugins.sh

test-rust: plugins
	$(CARGO) test --workspace --all-features --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

boundaries:
	scripts/check-boundaries.sh

fuzz-smoke:
	scripts/fuzz-smoke.sh

bench: bench-storage bench-raft bench-plugin bench-cluster

bench-storage:
	scripts/bench-storage.sh

# Closed-loop load on a 3-node cluster of release `dougdb-server` processes on 127.0.0.1
# (the `load` binary finds the server next to itself); LOAD_ARGS="--seconds 2" etc.
bench-cluster:
	$(CARGO) build --release --locked -q -p dougdb-server -p dougdb-bench
	"$${CARGO_TARGET_DIR:-target}/release/load" $(LOAD_ARGS)

bench-raft:
	$(CARGO) run --release --locked -q -p dougdb-sim --bin raft_bench

# Deterministic simulation of Raft groups over many seeds; replay one with
# DOUGDB_SEED=<seed> cargo test -p dougdb-sim --test replay -- --nocapture
sim:
	$(CARGO) run --release --locked -q -p dougdb-sim --bin sim -- --seeds $(SEEDS) --start $(START)

bench-plugin: plugins
	$(CARGO) run --release --locked -q -p dougdb-plugin --bin plugin_bench
