# Two commands matter: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# Thunderbird's iCalendar parser for tests/test_calendar.py; the test skips when node is missing
ICALJS := tests/icaljs/node_modules/.package-lock.json

.PHONY: run test install migrate worker demo bench clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/events-app migrate
	$(BIN)/events-app demo --if-empty
	$(BIN)/events-app serve

migrate: $(STAMP)
	$(BIN)/events-app migrate

worker: $(STAMP)
	$(BIN)/events-app worker

$(ICALJS): tests/icaljs/package-lock.json
	-command -v npm >/dev/null && cd tests/icaljs && npm ci --no-audit --no-fund --silent

test: $(TEST_STAMP) $(ICALJS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/rush.py

clean:
	rm -rf $(VENV) var build *.egg-info
