# The two set-up commands of the README: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use (Python 3.11+ as python3).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: demo test test-fast test-all lint ui bench-sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# Generate sample data and materialize every asset end to end on the embedded defaults.
demo: $(VENV)/.installed-dev
	mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/amperity-braze demo

# The browser test drives Debian's Chromium; as root on a fresh machine, install it.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Install Chromium (Debian: sudo apt-get install chromium) for the browser test"; exit 1; \
	fi

# Lint, then the test suite (the slow lane is included: CI runs exactly this).
test: $(VENV)/.installed-dev $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The fast lane while editing: ruff and the suite without the browser test and the
# reliability suites (faults, hostile input, security). CI runs `make test`.
test-fast: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider \
		--deselect amperity_braze_assets_tests/test_browser.py \
		--ignore amperity_braze_assets_tests/reliability

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The Dagster UI on http://127.0.0.1:3000, over the same instance the demo wrote to.
# Without a key, say so before the UI starts: a sync launched from it is then a dry run.
ui: $(VENV)/.installed-dev
	mkdir -p "$(DAGSTER_HOME)"
	@if [ -z "$$BRAZE_API_KEY" ]; then \
		echo "BRAZE_API_KEY is not set: every sync launched from the UI is a DRY RUN (nothing is sent;"; \
		echo "the request bodies are written under data/braze/dry_run/). To sync for real, start it as"; \
		echo "  BRAZE_API_KEY=... BRAZE_INSTANCE=US-01 make ui"; \
		echo "or, against the project's Braze emulator (as make demo does):"; \
		echo "  .venv/bin/amperity-braze emulator --port 9400 --api-key local-key &"; \
		echo "  BRAZE_API_KEY=local-key BRAZE_REST_ENDPOINT=http://127.0.0.1:9400 make ui"; \
	fi
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

bench-sample: $(VENV)/.installed-dev
	$(BIN)/python bench/sample_data.py --customers 1000000

clean:
	rm -rf data
