# footmetrics: the front door for every language. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
VENV ?= .venv
PYTHON := $(abspath $(VENV))/bin/python
DEMO_ARGS ?=
# The catalog tool; `generate`/`check` build it without the linter, so the generator builds even
# when the core's generated catalog module it is about to replace does not. It shares target/
# (a target dir of its own rebuilt every dependency, ~20 s): cargo puts the full
# `target/debug/footmetrics` back whenever a later build or test asks for it.
FOOTMETRICS_GEN = $(CARGO) run -q -p footmetrics-catalog --no-default-features --bin footmetrics --
# The C library and the Node addon come from one cargo invocation, so the dependencies they share
# (tokio, hyper, tonic, ...) are resolved and compiled once: two invocations resolve features
# differently and compile them twice (~15 s more on 2 cores).
RELEASE_LIBS := -p footmetrics-c -p footmetrics-node
export FOOTMETRICS_PYTHON := $(PYTHON)

.PHONY: help
help: ## List the targets and what they do
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: $(VENV)/.installed ## Install test tools: promtool, pushgateway (apt); the Python validators, OpenTelemetry SDK and rotel-agent (venv)

$(VENV)/.installed: requirements-dev.txt .ci/install-deps
	VENV=$(VENV) bash .ci/install-deps
	touch $@

.PHONY: build
build: ## Build every crate
	$(CARGO) build --workspace --all-targets
	$(MAKE) --no-print-directory node
	$(MAKE) --no-print-directory c

.PHONY: demo
demo: demo-build ## Run the main job: the instrumented axum api-gateway example serving /metrics (DEMO_ARGS=--once prints and exits)
	./target/debug/api-gateway $(DEMO_ARGS)

# The demo and the live lint of its /metrics (`make lint-demo`, part of `make test`) share one
# debug build of the example and the catalog tool, so whichever runs second starts at once. A
# release build would add ~30 s for nothing the demo shows: its latencies are simulated.
.PHONY: demo-build
demo-build:
	$(CARGO) build -q -p api-gateway -p footmetrics-catalog

.PHONY: test
test: deps ## Run every test in every language, style checks first (installs what the tests need first)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check-docs
	$(MAKE) --no-print-directory check-versions
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory conformance-python
	$(MAKE) --no-print-directory test-node
	$(MAKE) --no-print-directory test-c
	$(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory conformance-go
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory monitoring
	$(MAKE) --no-print-directory lint-demo

.PHONY: otlp-sink
otlp-sink: ## Build the OTLP test receiver (target/debug/otlp-sink) and the TLS material maker (target/debug/test-pki) the Python, Node and Go tests start
	$(CARGO) build -q -p footmetrics-testkit --bin otlp-sink --bin test-pki

.PHONY: python
python: deps ## Build and install the Python package (bindings-python) into the virtualenv
	$(PYTHON) -m pip install -q ./bindings-python

.PHONY: test-python
test-python: python otlp-sink ## Python tests (pytest) against the installed package, and its stubs checked by mypy's stubtest
	cd bindings-python && $(PYTHON) -m pytest -q tests
	cd bindings-python && $(PYTHON) -m mypy.stubtest footmetrics --allowlist stubtest-allowlist.txt

# The Python release artefacts. maturin (pinned in requirements-dev.txt, with ziglang) links the
# extension through zig against glibc 2.17, so the one abi3 wheel (CPython 3.9+) is tagged
# manylinux2014 (manylinux_2_17) whatever the build machine's glibc; maturin's own audit
# (`--auditwheel check`) refuses it otherwise, and test-dist-python asks auditwheel itself. The
# venv's bin/ goes first on PATH: maturin looks for zig there (ziglang's `python3 -m ziglang`).
# Stripping is set in bindings-python/pyproject.toml.
DIST := dist
MATURIN_ENV := PATH=$(abspath $(VENV))/bin:$$PATH

.PHONY: dist-python
dist-python: deps ## Python release artefacts into dist/: the abi3 manylinux2014 wheel (built with zig, checked by auditwheel) and the sdist
	rm -f $(DIST)/footmetrics-*-cp*-*.whl
	cd bindings-python && $(MATURIN_ENV) maturin build --release --zig --compatibility manylinux2014 \
		--auditwheel check --out $(CURDIR)/$(DIST)
	cd bindings-python && $(MATURIN_ENV) maturin sdist --out $(CURDIR)/$(DIST)

.PHONY: test-dist-python
test-dist-python: deps ## Check the Python artefacts `make dist-python` wrote: auditwheel tag, version, sdist contents; install the wheel offline into a fresh venv with no Rust on PATH and scrape the platform's ML snippet
	$(PYTHON) bindings-python/check_dist.py $(DIST)

PROMETHEUS_CLIENT_VERSION := 0.26.0
CONFORMANCE_DIR := target/conformance
CONFORMANCE_SUITE := $(CONFORMANCE_DIR)/prometheus_client-$(PROMETHEUS_CLIENT_VERSION)

.PHONY: conformance-python
conformance-python: python ## prometheus_client's own test suite (from its sdist) against footmetrics: passed/failed/skipped per file; fails on any failure outside bindings-python/conformance/skips.txt or under 95%
	@test -d $(CONFORMANCE_SUITE)/tests || { mkdir -p $(CONFORMANCE_DIR) && \
		$(PYTHON) -m pip download -q --no-binary :all: --no-deps -d $(CONFORMANCE_DIR) prometheus_client==$(PROMETHEUS_CLIENT_VERSION) && \
		tar xzf $(CONFORMANCE_DIR)/prometheus_client-$(PROMETHEUS_CLIENT_VERSION).tar.gz -C $(CONFORMANCE_DIR); }
	cd $(CONFORMANCE_SUITE) && PYTHONPATH=$(CURDIR)/bindings-python/conformance \
		$(PYTHON) -m pytest -q -p footmetrics_conformance -p no:cacheprovider -o addopts= tests

.PHONY: node
node: ## Build the npm package in place (bindings-node/footmetrics.node) and install its dev tools (prom-client, typescript, @opentelemetry/api)
	$(CARGO) build --release $(RELEASE_LIBS)
	cp target/release/libfootmetrics_node.so bindings-node/footmetrics.node
	cd bindings-node && npm install --no-audit --no-fund --loglevel=error

.PHONY: test-node
test-node: node deps otlp-sink ## Node tests (node:test): API, differential vs prom-client, strict OpenMetrics, promtool, workers, cluster, stall, npm pack, the docs' JS/TS snippets
	cd bindings-node && FOOTMETRICS_PYTHON=$(PYTHON) node --test --test-concurrency=1 test/

.PHONY: dist-node
dist-node: node ## Node: pack `footmetrics` (no binary) and `@footmetrics/<this platform>` (the stripped .node) into dist/, their versions checked against Cargo.toml
	node bindings-node/scripts/dist.js --binary target/release/libfootmetrics_node.so --out dist

.PHONY: test-dist-node
test-dist-node: ## Node: install dist/'s two tarballs in a temp project with no Rust toolchain on PATH; the seed TypeScript snippet through tsc and node, served and scraped; the error without the platform package
	bash bindings-node/scripts/test-dist.sh dist

CBINDGEN_VERSION := 0.29.4
CC ?= cc
C_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
C_LIB := target/release/libfootmetrics.a
C_LIBS := -lpthread -ldl -lm

.PHONY: c
c: ## Build the C library (target/release/libfootmetrics.a and .so; header in bindings-c/include), with the Node addon in the same cargo run
	$(CARGO) build --release $(RELEASE_LIBS)

.PHONY: test-c
test-c: c ## C tests of every ABI function and error path, and the docs' C snippets, under AddressSanitizer + UBSan (leaks too); then the header drift check
	mkdir -p target/c
	$(CC) -std=c11 -Wall -Wextra -Werror -g -O1 $(C_SAN) -Ibindings-c/include \
		bindings-c/tests/test_footmetrics.c $(C_LIB) $(C_LIBS) -o target/c/test_footmetrics
	ASAN_OPTIONS=detect_leaks=1 target/c/test_footmetrics
	@for snippet in docs/snippets/c/*.c; do \
		exe=target/c/snippet_$$(basename $$snippet .c); \
		echo "docs snippet $$snippet"; \
		$(CC) -std=c11 -Wall -Wextra -Werror -g -O1 $(C_SAN) -Ibindings-c/include $$snippet $(C_LIB) $(C_LIBS) -o $$exe && \
		ASAN_OPTIONS=detect_leaks=1 $$exe >/dev/null || exit 1; \
	done
	$(MAKE) --no-print-directory check-header

# --- Distribution: one version, the C install tree, the crates, every language's package -----

# The family's one version, from [workspace.package] in Cargo.toml (make check-versions compares
# every package's with it).
VERSION := $(shell sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
STRIP ?= strip
DIST_C_ROOT := target/dist-c/root
# The crates published to crates.io, in dependency order.
PUBLISHED_CRATES := footmetrics footmetrics-otlp footmetrics-tower footmetrics-catalog

.PHONY: install
install: c ## Install the C library under $(DESTDIR)$(PREFIX) (default /usr/local): lib/libfootmetrics.a, lib/libfootmetrics.so (soname .so.N), include/footmetrics*.h, lib/pkgconfig/footmetrics.pc
	DESTDIR="$(DESTDIR)" STRIP="$(STRIP)" bash bindings-c/install.sh target/release "$(VERSION)" \
		"$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)"

.PHONY: dist
dist: ## Every language's release artefacts into dist/: C tarball, Python wheel, npm packages, Go module
	$(MAKE) --no-print-directory dist-c
	$(MAKE) --no-print-directory dist-python
	$(MAKE) --no-print-directory dist-node
	$(MAKE) --no-print-directory dist-go
	$(MAKE) --no-print-directory dist-sizes

.PHONY: test-dist
test-dist: ## Test every artefact in dist/ as its users install it (make dist first)
	$(MAKE) --no-print-directory test-dist-c
	$(MAKE) --no-print-directory test-dist-python
	$(MAKE) --no-print-directory test-dist-node
	$(MAKE) --no-print-directory test-dist-go

.PHONY: dist-c
dist-c: c ## dist/footmetrics-c-VERSION-TRIPLE.tar.gz: the C install tree for PREFIX=/usr/local, stripped; owners and mtimes fixed (the commit's), so one build gives one tarball
	rm -rf $(DIST_C_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DIST_C_ROOT) PREFIX=/usr/local \
		LIBDIR=/usr/local/lib INCLUDEDIR=/usr/local/include
	mkdir -p dist
	rm -f dist/footmetrics-c-*.tar.gz
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$$(git log -1 --format=%ct) \
		-C $(DIST_C_ROOT) -cf - usr | gzip -9n > dist/footmetrics-c-$(VERSION)-$(HOST_TRIPLE).tar.gz
	@echo "dist/footmetrics-c-$(VERSION)-$(HOST_TRIPLE).tar.gz"

.PHONY: test-dist-c
test-dist-c: dist-c ## The C tarball's contents, soname and .pc; make install into a temp PREFIX and the quickstart built with pkg-config (shared and --static) under ASan+UBSan without Rust on PATH
	bash bindings-c/tests/dist_test.sh "$(VERSION)" "$(CC)"

.PHONY: dist-sizes
dist-sizes: ## Print the size of every artefact in dist/ (and of the libraries inside the C tarball)
	@python3 testkit/dist_sizes.py dist

.PHONY: check-versions
check-versions: ## Fail when a package's version differs from the workspace's: crates, Python, npm, Go's Version, the C .pc (and artefacts in dist/)
	python3 testkit/versions.py check
	python3 -m unittest -q testkit/test_versions.py

# One cargo invocation for the four (cargo >= 1.90 publishes several packages at once): each is
# packaged, then built from its .crate with the others resolved from a temporary local registry
# of the just-packaged ones (target/package/tmp-registry), so no crate needs the others on
# crates.io first and nothing is skipped with --no-verify. --allow-dirty lets it run before a
# commit; a real publish (the same command without --dry-run and --allow-dirty) runs from a
# clean, tagged tree.
.PHONY: check-crates
check-crates: ## cargo publish --dry-run of the crates.io crates (footmetrics, -otlp, -tower, -catalog), packaged together so they resolve each other
	$(CARGO) publish --dry-run --allow-dirty $(addprefix -p ,$(PUBLISHED_CRATES))

.PHONY: header
header: ## Regenerate bindings-c/include/footmetrics.h with cbindgen $(CBINDGEN_VERSION)
	@cbindgen --version | grep -qx "cbindgen $(CBINDGEN_VERSION)" || \
		{ echo "need cbindgen $(CBINDGEN_VERSION): cargo install cbindgen --version $(CBINDGEN_VERSION) --locked"; exit 1; }
	cd bindings-c && cbindgen --quiet --config cbindgen.toml --crate footmetrics-c --output include/footmetrics.h

.PHONY: check-header
check-header: ## Fail if regenerating the C header changes it
	@cbindgen --version | grep -qx "cbindgen $(CBINDGEN_VERSION)" || \
		{ echo "need cbindgen $(CBINDGEN_VERSION): cargo install cbindgen --version $(CBINDGEN_VERSION) --locked"; exit 1; }
	cd bindings-c && cbindgen --quiet --config cbindgen.toml --crate footmetrics-c --output $(CURDIR)/target/c/footmetrics.h
	@diff -u bindings-c/include/footmetrics.h target/c/footmetrics.h || \
		{ echo "bindings-c/include/footmetrics.h is stale: run make header and commit it"; exit 1; }

.PHONY: bench-c
bench-c: c ## C: increment through a handle against a raw atomic add, in the same run
	mkdir -p target/c
	$(CC) -std=c11 -O2 -Ibindings-c/include bindings-c/bench/bench_inc.c $(C_LIB) $(C_LIBS) -o target/c/bench_inc
	target/c/bench_inc

.PHONY: go
go: c ## Build the Go package (bindings-c/go) against the C library
	cd bindings-c/go && go build ./... && go vet ./...

# The oldest Go release bindings-c/go/go.mod's `go` line admits (`go 1.25.0` -> go1.25.0), for
# go-oldest. With GOTOOLCHAIN naming it, `go` downloads it through the module proxy
# (golang.org/toolchain) when it is not installed, so a machine with only a recent Go runs it.
GO_OLDEST := $(shell awk '$$1 == "go" { v = $$2; if (split(v, p, ".") == 2) v = v ".0"; print "go" v }' bindings-c/go/go.mod)

.PHONY: go-oldest
go-oldest: c ## Build and vet the Go package, its tests included, with the oldest Go its go.mod allows (fetched through the module proxy)
	cd bindings-c/go && GOTOOLCHAIN=$(GO_OLDEST) go version
	cd bindings-c/go && GOTOOLCHAIN=$(GO_OLDEST) go build ./... && GOTOOLCHAIN=$(GO_OLDEST) go vet ./...

.PHONY: test-go
test-go: go deps otlp-sink ## Go tests: the package built and vetted with the oldest Go it allows; API, bad input, client_golang interop, the seed and docs snippets, a real Prometheus scrape; then again under -race
	$(MAKE) --no-print-directory go-oldest
	cd bindings-c/go && go test -count=1 ./...
	cd bindings-c/go && go test -count=1 -race -short ./...
	cd examples/video-exporter-go && go test -count=1 -race ./...

# The Go module users install (issue 21): the package's sources with the prebuilt static library
# of each platform in build/<GOOS>-<GOARCH>/ and the header, chosen by cgo build constraints, so
# a `go get` needs no Rust toolchain. docs/go.md describes the tree.
.PHONY: dist-go
dist-go: c ## Go: write the module users get to dist/go/footmetrics (sources, header, stripped static library per platform) and zipped as the module proxy serves it to dist/go/proxy
	python3 bindings-c/go/dist.py build

.PHONY: test-dist-go
test-dist-go: ## Go: a fresh module outside the repository builds the video exporter against dist/go/proxy (GOPROXY=file://, no cargo/rustc on PATH), plainly and with -race, runs it and checks its /metrics (after make dist-go)
	python3 bindings-c/go/dist.py test

.PHONY: conformance-go
conformance-go: go ## client_golang's own external tests (package prometheus_test, from the Go module cache) against the Go package: passed/failed/skipped per file; fails on any failure outside bindings-c/go/conformance/skips.txt or under 95%
	python3 bindings-c/go/conformance/run.py

.PHONY: example-go
example-go: go ## Run the Go example exporter (video processing queue and batches) on 127.0.0.1:9102/metrics
	cd examples/video-exporter-go && go run .

.PHONY: bench-go
bench-go: go ## Go: each operation against client_golang in the same run, as ratios
	mkdir -p target/c
	cd bindings-c/go && go test -c -o $(CURDIR)/target/c/bench-go.test .
	: > target/c/bench-go.txt
	for round in 1 2 3 4 5; do \
	  first=client_golang; [ $$((round % 2)) -eq 0 ] && first=footmetrics; \
	  echo "round $$round ($$first first)" | tee -a target/c/bench-go.txt; \
	  (cd bindings-c/go && FOOTMETRICS_BENCH_FIRST=$$first $(CURDIR)/target/c/bench-go.test -test.run '^$$' -test.bench . -test.benchtime 200ms -test.count 1) | tee -a target/c/bench-go.txt || exit 1; \
	done
	$(PYTHON) bindings-c/bench/ratios.py target/c/bench-go.txt

.PHONY: generate
generate: ## Regenerate every generated file: from catalog/catalog.toml (code of every language, monitoring/), and the docs' code blocks
	$(FOOTMETRICS_GEN) generate
	$(MAKE) --no-print-directory docs

.PHONY: docs
docs: ## Rewrite the code blocks of README.md and docs/*.md from the programs in docs/snippets/ that the tests run
	python3 testkit/docs_snippets.py sync

.PHONY: check-docs
check-docs: ## Fail if a README or docs code block differs from its program in docs/snippets/, or a runnable block has none
	python3 testkit/docs_snippets.py check

.PHONY: check-generated
check-generated: ## Fail if a generated file differs from what the catalog produces
	$(FOOTMETRICS_GEN) check

.PHONY: monitoring
monitoring: ## promtool check rules and promtool test rules on monitoring/ (the generated rules and their unit tests)
	promtool check rules monitoring/prometheus/*.yml
	cd monitoring/tests && promtool test rules *.test.yml

.PHONY: lint-demo
lint-demo: demo-build ## Run the demo and lint its live /metrics against the catalog with `footmetrics lint`
	bash .ci/lint-demo

.PHONY: bench
bench: ## Benchmarks against prometheus, prometheus-client, measured and a raw atomic; prints ratios
	$(CARGO) bench -p footmetrics-benches
	$(CARGO) run --release -q -p footmetrics-benches --bin ratios
	$(CARGO) run --release -q -p footmetrics-benches --bin native_paired
	$(MAKE) --no-print-directory bench-python
	$(MAKE) --no-print-directory bench-node
	$(MAKE) --no-print-directory bench-c
	$(MAKE) --no-print-directory bench-go

.PHONY: bench-node
bench-node: node ## Node: each operation timed against prom-client in the same run, the event loop's stall during a 100k-series scrape, RSS under 1M-series churn and per live series (one process per library), and a cluster worker's update cost with and without the shared directory
	node bindings-node/bench/bench.js
	node bindings-node/bench/memory.js
	node bindings-node/bench/cluster.js

.PHONY: bench-python
bench-python: python ## Python: each operation timed against prometheus_client in the same run
	$(PYTHON) bindings-python/bench/bench.py

GO_SOURCES := bindings-c/go examples/video-exporter-go docs/snippets/go

.PHONY: lint
lint: c node deps ## Style gate, failing on any finding: rustfmt, clippy -D warnings, gofmt and go vet (both Go modules), tsc on the Node types, ruff check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@test -z "$$(gofmt -l $(GO_SOURCES))" || { echo "gofmt needed: $$(gofmt -l $(GO_SOURCES))"; exit 1; }
	cd bindings-c/go && go vet ./...
	cd examples/video-exporter-go && go vet ./...
	cd bindings-node && npx tsc -p test/types
	cd bindings-node && npx tsc --noEmit --strict --target es2020 --module commonjs index.d.ts catalog.d.ts
	$(PYTHON) -m ruff check .

.PHONY: clean
clean: ## Remove build output and the virtualenv
	$(CARGO) clean
	rm -rf $(VENV)
