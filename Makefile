# Every step a new machine needs is here: `make test` and `make demo` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GEN_OUT := generated/ray_jobs_api
GEN_ARGS := --path openapi/jobs.yaml --config openapi/generator.yaml --meta none --fail-on-warning
PYTEST_ARGS ?=

.PHONY: install generate check-generated test lint typecheck demo bench clean

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
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/openapi-python-client generate $(GEN_ARGS) --output-path $(GEN_OUT)
	$(BIN)/python -m openapi_spec_validator openapi/jobs.yaml

# Regenerate into a scratch directory and fail on any difference, new or removed files included.
check-generated: $(STAMP)
	$(BIN)/python -m openapi_spec_validator openapi/jobs.yaml
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/openapi-python-client generate $(GEN_ARGS) \
		--output-path "$$scratch/ray_jobs_api" >/dev/null && \
	if diff -r -x __pycache__ "$$scratch/ray_jobs_api" $(GEN_OUT); then \
		echo "generated code is up to date"; \
	else \
		echo "generated/ differs from what openapi/jobs.yaml yields: run 'make generate' and commit" >&2; exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check wrapper tests benchmarks examples
	$(BIN)/ruff format --check wrapper tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests start their own Ray head (see tests/conftest.py) and stop exactly what they started.
test: $(STAMP) check-generated
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
