# venice-agent — build, test and benchmark entry points.
#   make test   deps + build + swift test + the Python interop suite
#   make demo   the whole flow offline: simulator, throwaway wallet, agent, CLI (scripts/demo.sh)
#   make bench  release-mode benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SWIFT        ?= swift
PYTHON       ?= python3
VENV         ?= .venv
DEB_PACKAGES := libsecp256k1-dev libssl-dev libsqlite3-dev pkg-config webp libjpeg-turbo-progs lame nodejs chromium chromium-driver
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN_DIR       = $(shell $(SWIFT) build --show-bin-path)

.PHONY: all deps build test swift-test interop venv demo bench clean

all: build

# Installs the Debian packages the build and tests need, only when some are missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

# The interop venv: independent Python implementations from PyPI (Tests/Interop/requirements.txt).
$(VENV)/.installed: Tests/Interop/requirements.txt
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(SUDO) apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
	@touch $@

venv: $(VENV)/.installed

swift-test: build
	$(SWIFT) test

interop: build venv
	cd Tests/Interop && VENICE_BIN_DIR="$(BIN_DIR)" ../../$(VENV)/bin/pytest -q -p no:cacheprovider .

test: swift-test interop

# Release build of the two binaries, then scripts/demo.sh drives them; output in demo-output/.
demo: deps
	$(SWIFT) build -c release --product venice-sim
	$(SWIFT) build -c release --product venice-agent
	@# Test seams are compiled into debug builds only; a release binary that has one is a build bug.
	@! grep -q VENICE_AGENT_TEST_CRASH_AT "$$($(SWIFT) build -c release --show-bin-path)/venice-agent" || { echo "release venice-agent contains a test seam"; exit 1; }
	scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)" demo-output

bench: deps venv
	$(SWIFT) build -c release --product venice-bench
	$(SWIFT) build -c release --product venice-agent
	"$$($(SWIFT) build -c release --show-bin-path)/venice-bench"
	$(VENV)/bin/python scripts/bench_stream_rss.py "$$($(SWIFT) build -c release --show-bin-path)"

# Soak (not part of test): faulty simulator, clients with budgets, parallel top-ups, SIGKILLs and
# restarts of the agent, then money, caps, budgets, answers and RSS are checked. SOAK_MINUTES=5.
SOAK_MINUTES ?= 5
.PHONY: soak
soak: deps venv
	$(SWIFT) build --product venice-sim
	$(SWIFT) build --product venice-agent
	SOAK_MINUTES=$(SOAK_MINUTES) $(VENV)/bin/python scripts/soak.py "$(BIN_DIR)"

clean:
	rm -rf .build $(VENV)
