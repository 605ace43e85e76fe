# DougDB: thin wrappers, each self-contained on a fresh clone.
#   make test   build everything and run every test (what CI runs)
#   make bench  build in release and run the benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test test-rust lint boundaries fuzz-smoke bench bench-storage

test: lint test-rust boundaries fuzz-smoke
	@echo "make test: all green"

test-rust:
	$(CARGO) test --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

boundaries:
	scripts/check-boundaries.sh

fuzz-smoke:
	scripts/fuzz-smoke.sh

bench: bench-storage

bench-storage:
	$(CARGO) run --release --locked -p dougdb-bench --bin db_bench -- $(BENCH_ARGS)
