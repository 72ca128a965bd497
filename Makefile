# Two commands: `make demo` and `make test`. Both install what they need on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-slice test unit tools install stack-up stack-down clean

$(STAMP): pyproject.toml setup.py replicator/_fastmap.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# the Chipp case: three legacy databases generated, snapshotted, streamed under a concurrent
# writer into the unified schema; ends with mapping validate and a source/target comparison
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# the first vertical slice only (Developer -> app.users)
demo-slice: $(STAMP)
	$(BIN)/python scripts/demo_slice.py

# the whole suite: unit tests, then integration and end-to-end tests on the real stack
test: $(STAMP) tools
	$(BIN)/pytest -v -p no:cacheprovider --timeout=900 tests

# Debian tools the checks use: promtool and prometheus (installed without starting a service)
tools: $(STAMP)
	$(BIN)/python -c "from replicator.stack.parts import ensure_tool; ensure_tool('promtool', 'prometheus')"

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

stack-up: $(STAMP)
	$(BIN)/replicator stack up

stack-down: $(STAMP)
	$(BIN)/replicator stack down

clean: stack-down
	rm -rf .state
