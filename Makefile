# DougDB: thin wrappers, each self-contained on a fresh clone.
#   make demo   set up .venv with the Python package, then run the leader-kill demo
#   make test   build everything and run every test (what CI runs)
#   make bench  build in release and run the benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test test-rust test-python lint boundaries fuzz-smoke bench bench-storage bench-raft bench-plugin bench-cluster bench-compare bench-disk sim plugins demo venv develop soak

SEEDS ?= 100000
START ?= 0

test: plugins lint test-rust boundaries fuzz-smoke test-python
	@echo "make test: all green"

# ---- Python package (maturin, pyo3) ----------------------------------------------------
# .venv holds maturin, the test extras and the package installed in development mode. The
# extension is built in the dev profile: it shares `target/` with `cargo test`, the Raft
# core is optimised even there (see Cargo.toml), and a release build would add many
# minutes to `make test` on 2 cores for no test benefit.
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.dougdb-venv

venv: $(VENV_STAMP)

$(VENV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "maturin>=1.9,<2"
	touch $@

# Rebuilds and reinstalls the package (cargo's incremental build makes this quick when
# nothing changed); `--extras test` installs pytest, hypothesis, nbmake, ...
develop: $(VENV_STAMP)
	VIRTUAL_ENV="$(CURDIR)/$(VENV)" $(VENV)/bin/maturin develop -q --extras test

# A local 3-node, 2-shard cluster under load loses a shard leader: re-election, no lost
# acknowledged write (exits non-zero otherwise).
demo: develop
	$(VENV)/bin/python -m dougdb.demo

# A seeded random mix of every fault under load for MINUTES (default 10) on a local
# cluster; SEED=S replays one. Prints where its report.json and summary.txt go; exits
# non-zero on any violation (lost write, non-linearizable history, ...).
soak: develop
	$(VENV)/bin/python -m dougdb.testing.soak --minutes $(or $(MINUTES),10) $(if $(SEED),--seed $(SEED))

# The pytest suites against the installed package, then the tutorial notebook, executed.
test-python: develop plugins
	$(VENV)/bin/pytest tests/ -q
	$(VENV)/bin/pytest --nbmake notebooks/ -q -p no:cacheprovider

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

# DougDB against a 3-member etcd (Debian's etcd-server, installed if missing) on 127.0.0.1,
# interleaved rounds, same load binary; then shard scaling and Python vs Rust client.
# SECONDS=2 CLIENTS=1,64 etc. (see the script's header). Not part of `bench`.
bench-compare:
	scripts/bench-compare.sh

# The disk's floor under a replicated write: 300 B append + fdatasync, 1 and 3 writers at once.
bench-disk:
	scripts/disk-floor.py

bench-raft:
	$(CARGO) run --release --locked -q -p dougdb-sim --bin raft_bench

# Deterministic simulation of Raft groups over many seeds; replay one with
# DOUGDB_SEED=<seed> cargo test -p dougdb-sim --test replay -- --nocapture
sim:
	$(CARGO) run --release --locked -q -p dougdb-sim --bin sim -- --seeds $(SEEDS) --start $(START)

bench-plugin: plugins
	$(CARGO) run --release --locked -q -p dougdb-plugin --bin plugin_bench
