# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/askdesk

.PHONY: setup build run test lint unit bench bench-peer

setup:
	scripts/setup.sh models

build:
	$(CARGO) build --release

## Set up (once), build, index the demo knowledge base and serve it.
run: setup build
	$(BIN) index
	@echo "askdesk: demo tenants indexed; try: $(BIN) search --tenant fictart \"can I get a refund?\""

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

unit:
	$(CARGO) test --release

## Everything CI checks: formatting, clippy, unit and integration tests (real model).
test: setup lint unit

bench: setup
	$(CARGO) bench --bench retrieval

## askdesk vs the Python peer on the same generated corpus, in one run.
bench-peer: setup build
	scripts/setup.sh peer
	scripts/bench-peer.sh
