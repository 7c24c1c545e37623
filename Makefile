# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint proto bench clean lock

# The console's browser tests drive Debian's Chromium (Playwright's own browser download
# does not work here); installed once per machine, without recommends (they pull ~480 MB of
# printing, audio and desktop services a headless browser never uses), with the fonts that
# screenshots need named explicitly.
CHROMIUM := /usr/bin/chromium
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jembatan demo

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "browser tests need Debian's chromium package"; exit 1; }
	apt-get update -q
	$(APT_INSTALL) chromium fonts-liberation fonts-dejavu-core

# `promtool check metrics` judges the hub's exposition in the tests: the binary is taken out of
# Debian's prometheus package without installing it (no Prometheus service is set up).
PROMTOOL := .tools/promtool

$(PROMTOOL):
	@command -v apt-get >/dev/null || { echo "the metrics test needs Debian's prometheus package"; exit 1; }
	rm -rf .tools/deb && mkdir -p .tools/deb
	cd .tools/deb && (apt-get download -q prometheus || (apt-get update -q && apt-get download -q prometheus))
	dpkg-deb -x .tools/deb/prometheus_*.deb .tools/deb/root
	cp .tools/deb/root/usr/bin/promtool $(PROMTOOL)
	rm -rf .tools/deb

# The contract's Node client (tests/node, run by tests/test_node_client.py): its npm modules as
# package-lock.json pins them, installed again only when the lock changes. Node.js and npm are
# the machine's, or Debian's where it has none.
NODE_STAMP := tests/node/node_modules/.installed

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || command -v apt-get >/dev/null || { echo "the Node client test needs node and npm"; exit 1; }
	command -v npm >/dev/null || { apt-get update -q && $(APT_INSTALL) nodejs npm; }
	cd tests/node && npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

test: $(STAMP) $(CHROMIUM) $(PROMTOOL) $(NODE_STAMP) lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Regenerate the committed protobuf/gRPC code (jembatan/v1/) from proto/jembatan/v1/*.proto.
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. \
		--grpc_python_out=. proto/jembatan/v1/*.proto

# The lock the image installs from (Dockerfile): every package pyproject.toml needs, pinned and
# hashed, for CPython 3.11 on any platform, resolved by uv from a throwaway virtualenv (uv is no
# dependency of the project). Run after changing the dependencies; docs/dependencies.md.
UV_VERSION := 0.13.9

lock:
	test -x .tools/lock/bin/uv || ($(PYTHON) -m venv .tools/lock && .tools/lock/bin/pip install --quiet uv==$(UV_VERSION))
	.tools/lock/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --index-url https://pypi.org/simple \
		--custom-compile-command "make lock" --output-file requirements.lock

bench: $(STAMP)
	$(PY) bench/pipeline.py

clean:
	rm -rf $(VENV) tests/node/node_modules
