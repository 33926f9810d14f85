# Gongjian: `make run` and `make test` do all the set-up on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install db demo run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

db: install
	$(BIN)/gongjian db upgrade

demo: db
	$(BIN)/gongjian deploy --user designer rules bpmn
	$(BIN)/gongjian demo load --url http://$(HOST):$(PORT)/

run: demo
	$(BIN)/gongjian serve --host $(HOST) --port $(PORT)

# The suite runs in TEST_WORKERS processes (pytest-xdist), each test file whole in one of
# them (tests/conftest.py keeps tests/names together); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

# The load run (bench/load_bench.py) and its smoke in `make test` serve the app with
# gunicorn, as deployed; the dev extra brings it with the deploy extra's pin.
bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache

# The designer's editors (bpmn-js, properties panel, dmn-js), rebuilt from assets/ into
# webapp/static/designer/; the built files are committed, so `make run` needs no Node.js.
.PHONY: assets
assets:
	cd assets && npm ci --no-audit --no-fund && node build.mjs
