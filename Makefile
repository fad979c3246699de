# Every step a new machine needs is here: `make test` and `make demo` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GEN_OUT := generated/ray_jobs_api
GEN_ARGS := --path openapi/jobs.yaml --config openapi/generator.yaml --custom-template-path openapi/templates \
	--meta none --fail-on-warning
PYTEST_ARGS ?=

.PHONY: install generate check-generated test unit lint typecheck demo bench clean dist wheel-venv \
	ray-releases test-releases \
	spec-tools node-tools chromium lint-spec spec-docs ts-client ts-smoke ts-check compat spec-drift docs

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Regenerate the typed client from the spec. The old output is deleted first so that removed
# operations do not linger; the generator and ruff are pinned, so a rerun is byte-identical.
generate: $(STAMP)
	rm -rf $(GEN_OUT)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate $(GEN_ARGS) --output-path $(GEN_OUT)
	$(BIN)/python -m openapi_spec_validator openapi/jobs.yaml

# Regenerate into a scratch directory and fail on any difference, new or removed files included.
check-generated: $(STAMP)
	$(BIN)/python -m openapi_spec_validator openapi/jobs.yaml
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate $(GEN_ARGS) \
		--output-path "$$scratch/ray_jobs_api" >/dev/null && \
	if diff -r -x __pycache__ "$$scratch/ray_jobs_api" $(GEN_OUT); then \
		echo "generated code is up to date"; \
	else \
		echo "generated/ differs from what openapi/jobs.yaml yields: run 'make generate' and commit" >&2; exit 1; \
	fi

# The fast tier: tests/unit in a venv of its own with the package and pytest only (no Ray, no head,
# no Node tools or browser): seconds, for the edit-test loop. See tests/README.md for the tiers.
UNIT_VENV ?= .venv-unit
UNIT_STAMP := $(UNIT_VENV)/.installed

$(UNIT_STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(UNIT_VENV)
	$(UNIT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(UNIT_VENV)/bin/python -m pip install --quiet -e '.[unit]'
	touch $@

unit: $(UNIT_STAMP)
	$(UNIT_VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check wrapper tests benchmarks examples
	$(BIN)/ruff format --check wrapper tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests start their own Ray head (see tests/conftest.py) and stop exactly what they started.
# tests/spec also needs the pinned Node tools and Chromium: `spec-tools` installs them.
# First the whole suite against the installed Ray (2.60), then the release suite (the tests marked
# `release`: those whose answer comes from the server) against a head of each older release in
# TEST_RAY_RELEASES. Every pytest run ends with its 15 slowest tests (pyproject's addopts). The
# budget: tests/README.md.
# The tests run in TEST_WORKERS pytest-xdist workers sharing one Ray head (tests/conftest.py), a
# file per worker at a time (module-scoped jobs are made once, the contract check sees its module).
TEST_WORKERS ?= 3
TEST_OPTS ?= -n $(TEST_WORKERS) --dist loadfile
# The older releases' venvs are only needed after the first run: they install meanwhile (mostly
# downloads and unpacking, while the tests mostly wait for the head), logged to build/ray-releases.log.
test: $(STAMP) check-generated check-spec-30 spec-tools wheel-venv docs ts-smoke
	@mkdir -p build
	@echo "installing Ray $(TEST_RAY_RELEASES) meanwhile (build/ray-releases.log)"
	@$(BIN)/python tools/ray_releases.py install $(TEST_RAY_RELEASES) >build/ray-releases.log 2>&1 & installer=$$!; \
	$(BIN)/python -m pytest $(TEST_OPTS) $(PYTEST_ARGS); status=$$?; \
	if ! wait $$installer; then \
		cat build/ray-releases.log >&2; echo "could not install Ray $(TEST_RAY_RELEASES)" >&2; exit 1; \
	fi; \
	exit $$status
	$(MAKE) --no-print-directory test-releases

# Older Ray releases that `make test` runs the release suite against (venvs in build/ray/<release>):
# MAKE_TEST_RELEASES of the one table of tested releases, wrapper/ray_jobs_client/releases.py.
TEST_RAY_RELEASES ?= $(shell $(BIN)/python tools/ray_releases.py list)
RELEASE_SUITE ?= tests/contract tests/integration tests/cli

ray-releases: $(STAMP)
	$(BIN)/python tools/ray_releases.py install $(TEST_RAY_RELEASES)

test-releases: ray-releases
	@failed=""; for release in $(TEST_RAY_RELEASES); do \
		echo "==================== the release suite against a Ray $$release head"; \
		RJC_RAY_RELEASE=$$release $(BIN)/python -m pytest $(RELEASE_SUITE) -m release $(TEST_OPTS) $(PYTEST_ARGS) \
			|| failed="$$failed $$release"; \
	done; \
	if [ -n "$$failed" ]; then echo "the release suite failed against Ray$$failed" >&2; exit 1; fi

# ------------------------------------------------------------------ the package as users get it
# `dist`: the sdist, then the wheel built from the unpacked sdist (what `python -m build` does), plus
# a wheel built straight from the tree into $(DIST)/tree/ that tests/packaging compares it with.
# `wheel-venv`: a clean venv holding only that wheel (not editable) with its runtime dependencies and
# the `typecheck` extra; tests/packaging runs its python, its `ray-jobs` and its type checkers.
DIST := build/dist
WHEEL_VENV := build/wheel-venv

# Both are files that make rebuilds only when what goes into them changed (not on every `make test`).
DIST_STAMP := $(DIST)/.built
WHEEL_STAMP := $(WHEEL_VENV)/.installed
PACKAGE_SOURCES := pyproject.toml README.md \
	$(shell find wrapper generated openapi -path openapi/node_modules -prune -o -type f ! -path '*/__pycache__/*' -print)

$(DIST_STAMP): $(PACKAGE_SOURCES) | $(STAMP)
	rm -rf $(DIST)
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/python -m build --wheel --outdir $(DIST)/tree .
	touch $@

dist: $(DIST_STAMP)

$(WHEEL_STAMP): $(DIST_STAMP)
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		"$$(ls $(DIST)/ray_jobs_client-*.whl)[typecheck]"
	touch $@

wheel-venv: $(WHEEL_STAMP)

# The API reference of ray_jobs_client and ray_jobs_api, from the docstrings (mkdocs.yml): open
# build/docs/index.html in a browser; it needs no web server and no network (fonts, scripts, search).
# Built only when a source changed; the stamp (tests/prebuilt.py) lets tests/docs use this build
# instead of making a second one.
DOCS_STAMP := build/docs-built.stamp
DOCS_SOURCES := mkdocs.yml pyproject.toml $(shell find docs wrapper generated -type f ! -path '*/__pycache__/*')

$(DOCS_STAMP): $(DOCS_SOURCES) $(STAMP)
	rm -f $@
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	touch $@

docs: $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# Side-by-side benchmarks against Ray's own client on a throwaway local head (no token); writes
# BENCHMARKS.md. Clean venvs and inputs are cached in .bench/ (the first run builds them).
# BENCH_ARGS=--quick for a small development run.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(UNIT_VENV) .pytest_cache .mypy_cache .ruff_cache

# ------------------------------------------------------------------ the spec as a product
# Node tools pinned in openapi/package.json + package-lock.json: Redocly CLI (lint, HTML docs),
# openapi-typescript and TypeScript. `npm ci` installs exactly the lock file, into openapi/node_modules.
NODE_BIN := openapi/node_modules/.bin
NODE_STAMP := openapi/node_modules/.package-lock.json
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NODE_BIN)/redocly
SPEC_DOCS := build/spec-docs/index.html
TS_DIR := clients/typescript
TS_SCHEMA := $(TS_DIR)/src/schema.d.ts

$(NODE_STAMP): openapi/package.json openapi/package-lock.json
	npm ci --prefix openapi --no-audit --no-fund
	touch $@

# Without npm, say so and go on: the tests in tests/spec then skip with that reason (and fail under CI).
node-tools:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(NODE_STAMP); \
	else echo "npm not found: install Node.js >= 20.19 for the spec tools (tests/spec will skip)" >&2; fi

# Headless Chromium for the docs test (Debian's package; CI runs as root on a fresh machine).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } || \
		echo "could not install chromium (needs root and apt): the docs test will skip (and fail under CI)" >&2

spec-tools: node-tools chromium go-tools

lint-spec: $(NODE_STAMP)
	$(REDOCLY) lint --config openapi/redocly.yaml

# A single self-contained HTML page (scripts and spec inlined, no network fetches): open it in a browser.
spec-docs: $(NODE_STAMP)
	$(REDOCLY) build-docs jobs --config openapi/redocly.yaml --inlineBundle -o $(SPEC_DOCS)

# TypeScript types generated from the spec (committed, like generated/), then the typed smoke client
# type-checked strictly and compiled to build/ts-client/smoke.js.
ts-client: $(NODE_STAMP)
	$(NODE_BIN)/openapi-typescript openapi/jobs.yaml -o $(TS_SCHEMA)
	$(NODE_BIN)/tsc -p $(TS_DIR) --strict

# The smoke client compiled once under --strict for tests/spec (tests/prebuilt.py reads the stamp):
# rebuilt only when its sources change; without the Node tools, or when tsc fails, the test compiles
# it itself (and reports the failure).
TS_STAMP := build/ts-client-built.stamp

$(TS_STAMP): $(shell find $(TS_DIR) -type f) openapi/package-lock.json $(NODE_STAMP)
	rm -f $@
	$(NODE_BIN)/tsc -p $(TS_DIR) --strict
	touch $@

ts-smoke:
	@if [ -x $(NODE_BIN)/tsc ]; then \
		$(MAKE) --no-print-directory $(TS_STAMP) || echo "tsc failed: tests/spec will report it" >&2; \
	fi

ts-check: $(NODE_STAMP)
	$(NODE_BIN)/openapi-typescript openapi/jobs.yaml -o $(TS_SCHEMA) --check
	$(NODE_BIN)/tsc -p $(TS_DIR) --strict --noEmit

# Every supported Ray release (tools/ray_releases.py SUPPORTED): the release suite against a head
# of each, one after the other, each installed in its own venv under build/ray/ (about 400 MB each).
# COMPAT_RAY_VERSIONS="2.20.0 2.35.0" narrows it. Prints one line per release at the end.
COMPAT_RAY_VERSIONS ?=
compat: $(STAMP)
	$(BIN)/python tools/compat.py --python $(PYTHON) $(COMPAT_RAY_VERSIONS) -- $(RELEASE_SUITE)

# Read-only drift check of a running server against the spec: make spec-drift ADDRESS=http://host:8265
# (token from RAY_AUTH_TOKEN). Exit 1 when the server answers something the spec does not describe.
ADDRESS ?=
spec-drift: $(STAMP)
	@test -n "$(ADDRESS)" || { echo "usage: make spec-drift ADDRESS=http://host:8265" >&2; exit 2; }
	$(BIN)/python tools/spec_drift.py $(ADDRESS)

# What changed in the spec since a git ref, one line per change, BREAKING ones marked (for clients
# generated from the older spec): make spec-diff BASE=<ref>, default HEAD (your uncommitted edits).
# Fails when a change is breaking (tools/spec_diff.py exits 1; 2 for an unknown ref). The rules: that file.
.PHONY: spec-diff
BASE ?= HEAD
spec-diff: $(STAMP)
	$(BIN)/python tools/spec_diff.py $(BASE)

# ------------------------------------------------------------------ the OpenAPI 3.0 rendition
# openapi/jobs-3.0.yaml, for tools that read only OAS 3.0 (kin-openapi, oapi-codegen, openapi-generator,
# NSwag…): the pinned openapi-down-convert, then tools/spec_oas30.py's rewrites. Committed, like
# generated/; check-spec-30 regenerates into a scratch file and fails on any difference (without npm
# it says so and goes on, but fails under CI).
.PHONY: spec-30 check-spec-30 go-tools
SPEC_30 := openapi/jobs-3.0.yaml
SPEC_30_ARGS := --converter $(NODE_BIN)/openapi-down-convert openapi/jobs.yaml

spec-30: $(STAMP) $(NODE_STAMP)
	$(BIN)/python tools/spec_oas30.py $(SPEC_30_ARGS) -o $(SPEC_30)
	$(BIN)/python -m openapi_spec_validator $(SPEC_30)

check-spec-30: $(STAMP) node-tools
	@if [ ! -x $(NODE_BIN)/openapi-down-convert ]; then \
		echo "openapi-down-convert is not installed (needs npm): $(SPEC_30) not checked" >&2; \
		test -z "$$CI"; exit; \
	fi; \
	scratch=$$(mktemp) && trap 'rm -f "$$scratch"' EXIT && \
	$(BIN)/python tools/spec_oas30.py $(SPEC_30_ARGS) -o "$$scratch" && \
	$(BIN)/python -m openapi_spec_validator "$$scratch" >/dev/null && \
	if diff -u $(SPEC_30) "$$scratch"; then \
		echo "$(SPEC_30) is up to date"; \
	else \
		echo "$(SPEC_30) differs from what openapi/jobs.yaml yields: run 'make spec-30' and commit" >&2; exit 1; \
	fi

# Go and kin-openapi for the Go consumer test (tests/spec/test_go_consumer.py): Debian's packages,
# built in GOPATH mode (GO111MODULE=off GOPATH=/usr/share/gocode), so no Go module proxy is needed.
KIN_OPENAPI_SRC := /usr/share/gocode/src/github.com/getkin/kin-openapi
go-tools:
	@{ command -v go >/dev/null 2>&1 && test -d $(KIN_OPENAPI_SRC); } || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			golang-go golang-github-getkin-kin-openapi-dev; } || \
		echo "could not install Go and kin-openapi (needs root and apt): the Go consumer test will skip (and fail under CI)" >&2
