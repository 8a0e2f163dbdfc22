# Two commands: `make run` and `make test`. Everything else is a step they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean styles screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# With Slack's or Teams' settings this serves the bot (Teams' dev mode on loopback only);
# without them, the console on a demo plan.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN$$TEAMS_APP_ID" ]; then $(BIN)/wsoa serve; \
	elif [ -n "$$WSOA_TEAMS_DEV" ]; then $(BIN)/wsoa serve --host 127.0.0.1; \
	else $(BIN)/wsoa demo; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# GOV.UK Frontend's styles, compiled unbranded into bot/web/static/wsoa.css. The result is
# committed, so `make run` and `make test` need no Node.js; run this after changing styles/.
styles:
	cd styles && npm ci --no-audit --no-fund && npx sass --pkg-importer=node --style=compressed \
		--no-source-map wsoa.scss ../bot/web/static/wsoa.css

# The README's pictures of the pages (docs/pages), taken by the browser tests in Chromium.
screenshots: $(STAMP)
	mkdir -p docs/pages
	WSOA_SCREENSHOTS=$(CURDIR)/docs/pages $(BIN)/pytest -n 0 \
		tests/test_web_browser.py::test_every_page_passes_axe_at_desktop_and_phone_width

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
