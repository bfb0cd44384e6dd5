# sopgov — the two commands a new machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
WEB_PORT ?= 8000
BRIDGE_PORT ?= 8001
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sopgov
REDIS_URL ?= redis://127.0.0.1:6379/15
export WEB_PORT BRIDGE_PORT

.PHONY: demo test lint bench install install-dev chromium nginx wrk clean help

help:
	@echo "make demo   - run sopgov on SQLite with demo data (web :$(WEB_PORT), MCP bridge :$(BRIDGE_PORT))"
	@echo "make test   - check the apps' dependency contracts, run the whole suite against PostgreSQL and Redis"
	@echo "make lint   - ruff, mypy and the dependency contracts (import-linter)"
	@echo "make bench  - benchmarks (bridge throughput vs the seed anchor, publish latency, routing)"

$(VENV)/.runtime: requirements.txt mcp_bridge/models.py
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m mcp_bridge.models fetch
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

demo: install
	./scripts/demo.sh

# Browser tests drive Debian's Chromium; install it when it is missing (needs root or sudo).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@/usr/bin/chromium --version

# The proxy tests run deploy/nginx.conf in front of gunicorn; install nginx when it is missing
# (Debian's package does not start a service here: only the tests start it, on their own ports).
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi
	@/usr/sbin/nginx -v

test: install-dev chromium nginx
	$(VENV)/bin/lint-imports --no-cache
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy apps sopgov mcp_bridge
	$(VENV)/bin/lint-imports --no-cache

# The throughput benchmarks drive the servers with wrk; install it when it is missing.
wrk:
	@if ! command -v wrk >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

bench: install-dev wrk nginx
	$(PY) bench/run_all.py

clean:
	rm -rf .demo .bridge-cache staticfiles
