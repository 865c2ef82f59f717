# Two commands matter: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install migrate worker demo bench clean messages check-messages

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

# Test tools from npm (axe-core, ical.js), pinned in tests/js/package-lock.json; node_modules is not committed.
JS_TOOLS := tests/js/node_modules/.package-lock.json

$(JS_TOOLS): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

test: $(TEST_STAMP) $(JS_TOOLS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/rush.py

# Translations: `make messages` extracts every gettext string into the template and merges it into each
# language's catalog (new entries arrive empty, changed ones fuzzy); `make check-messages` lists the gaps.
LANGS := de en ar tr uk fa
POT   := events_app/translations/messages.pot
BABEL_KEYWORDS := -k N_ -k gettext -k gettext:2,2t -k gettext:2,3t -k gettext:2,4t -k gettext:2,5t -k gettext:2,6t \
	-k ngettext:1,2 -k ngettext:2,3,4t -k ngettext:2,3,5t -k ngettext:2,3,6t -k ngettext:2,3,7t

messages: $(STAMP)
	mkdir -p events_app/translations
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --add-comments=Translators: --strip-comments \
		--sort-output --add-location=file --width=100 --project=events_app --copyright-holder="events_app contributors" -o $(POT) .
	for lang in $(LANGS); do \
		if [ -f events_app/translations/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --ignore-obsolete --no-fuzzy-matching --width=100 -i $(POT) -d events_app/translations -l $$lang; \
		else \
			$(BIN)/pybabel init -i $(POT) -d events_app/translations -l $$lang; \
		fi; \
	done

check-messages: $(STAMP)
	$(BIN)/python -m events_app.core.i18n_check

clean:
	rm -rf $(VENV) var build *.egg-info
