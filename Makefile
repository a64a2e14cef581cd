# footmetrics: the front door for every language. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
VENV ?= .venv
PYTHON := $(abspath $(VENV))/bin/python
DEMO_ARGS ?=
export FOOTMETRICS_PYTHON := $(PYTHON)

.PHONY: help
help: ## List the targets and what they do
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: $(VENV)/.installed ## Install test tools: promtool, pushgateway (apt) and the Python validators (venv)

$(VENV)/.installed: requirements-dev.txt .ci/install-deps
	VENV=$(VENV) bash .ci/install-deps
	touch $@

.PHONY: build
build: ## Build every crate
	$(CARGO) build --workspace --all-targets
	$(MAKE) --no-print-directory node

.PHONY: demo
demo: ## Run the main job: the instrumented axum api-gateway example serving /metrics (DEMO_ARGS=--once prints and exits)
	$(CARGO) run --release -q -p api-gateway -- $(DEMO_ARGS)

.PHONY: test
test: deps ## Run every test in every language (installs what the tests need first)
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-node
	$(MAKE) --no-print-directory check-generated

.PHONY: python
python: deps ## Build and install the Python package (bindings-python) into the virtualenv
	$(PYTHON) -m pip install -q ./bindings-python

.PHONY: test-python
test-python: python ## Python tests (pytest) against the installed package, and its stubs checked by mypy's stubtest
	cd bindings-python && $(PYTHON) -m pytest -q tests
	cd bindings-python && $(PYTHON) -m mypy.stubtest footmetrics --allowlist stubtest-allowlist.txt

.PHONY: node
node: ## Build the npm package in place (bindings-node/footmetrics.node) and install its dev tools (prom-client, typescript)
	$(CARGO) build --release -p footmetrics-node
	cp target/release/libfootmetrics_node.so bindings-node/footmetrics.node
	cd bindings-node && npm install --no-audit --no-fund --loglevel=error

.PHONY: test-node
test-node: node deps ## Node tests (node:test): API, differential vs prom-client, strict OpenMetrics, promtool, workers, cluster, stall, npm pack, types
	cd bindings-node && FOOTMETRICS_PYTHON=$(PYTHON) node --test --test-concurrency=1 test/
	cd bindings-node && npx tsc -p test/types

.PHONY: generate
generate: ## Regenerate every file generated from catalog/catalog.toml
	$(CARGO) run -q -p footmetrics-catalog -- generate

.PHONY: check-generated
check-generated: ## Fail if a generated file differs from what the catalog produces
	$(CARGO) run -q -p footmetrics-catalog -- check

.PHONY: bench
bench: ## Benchmarks against prometheus, prometheus-client, measured and a raw atomic; prints ratios
	$(CARGO) bench -p footmetrics-benches
	$(CARGO) run --release -q -p footmetrics-benches --bin ratios
	$(MAKE) --no-print-directory bench-python
	$(MAKE) --no-print-directory bench-node

.PHONY: bench-node
bench-node: node ## Node: each operation timed against prom-client in the same run, and the event loop's stall during a 100k-series scrape
	node bindings-node/bench/bench.js

.PHONY: bench-python
bench-python: python ## Python: each operation timed against prometheus_client in the same run
	$(PYTHON) bindings-python/bench/bench.py

.PHONY: lint
lint: ## rustfmt and clippy
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: clean
clean: ## Remove build output and the virtualenv
	$(CARGO) clean
	rm -rf $(VENV)
