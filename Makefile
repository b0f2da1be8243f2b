# pgibot: `make run` sets everything up and runs the bot; `make test` sets everything up and
# runs every check. Both work on a fresh machine with Python 3.11+.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOG := locales/vi/LC_MESSAGES/bot
# argparse's own messages (usage, errors), translated in a catalog of their own: see bot/terminal.py.
ARGPARSE_CATALOG := locales/vi/LC_MESSAGES/argparse
SOURCES := $(shell find bot handlers storage -name '*.py' -not -path '*/migrations/versions/*')

.PHONY: run test setup catalog catalog-extract catalog-update lint typecheck contracts bench-reminders bench-summary \
	bench-intake bench-dashboard bench-api screenshots crash \
	pytest migrate clean console

run: setup migrate
	$(BIN)/pgibot run

console: setup migrate
	$(BIN)/pgibot console

test: setup lint typecheck contracts catalog-check pytest

setup: $(STAMP) catalog

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Compile the Vietnamese catalog (the .mo file is build output, not committed).
catalog: $(CATALOG).mo $(ARGPARSE_CATALOG).mo

$(CATALOG).mo: $(CATALOG).po $(STAMP)
	$(BIN)/pybabel compile --statistics --domain bot --directory locales --locale vi

$(ARGPARSE_CATALOG).mo: $(ARGPARSE_CATALOG).po $(STAMP)
	$(BIN)/pybabel compile --statistics --domain argparse --directory locales --locale vi

# Extract the source strings into locales/bot.pot and merge them into the Vietnamese catalog.
# Log messages at INFO and above are in the catalog too: the administrator reads them.
LOG_KEYWORDS := -k info -k warning -k error -k exception -k critical

catalog-extract: $(STAMP)
	$(BIN)/pybabel extract --mapping babel.cfg --no-location --sort-output $(LOG_KEYWORDS) \
		--project pgibot --copyright-holder "pgibot" --msgid-bugs-address "" \
		--output locales/bot.pot bot handlers storage
	$(BIN)/pybabel extract --no-location --sort-output \
		--project pgibot --copyright-holder "pgibot" --msgid-bugs-address "" \
		--output locales/argparse.pot "$$($(BIN)/python -c 'import argparse; print(argparse.__file__)')"

catalog-update: catalog-extract
	$(BIN)/pybabel update --domain bot --input-file locales/bot.pot --output-dir locales \
		--locale vi --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update --domain argparse --input-file locales/argparse.pot --output-dir locales \
		--locale vi --no-fuzzy-matching --ignore-obsolete
	$(MAKE) catalog

catalog-check: setup
	$(BIN)/python -m pytest -q tests/test_catalog.py

# Apply the migrations to the configured database (SQLite file under ./data by default).
migrate: setup
	$(BIN)/pgibot init

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# pytest in two parts: most tests on both cores (pytest-xdist, one worker per core); the suites
# that measure time (kills, faults, stops mid-send, two processes) alone afterwards, so that a
# neighbouring test never slows them past their deadlines.
TIMED_TESTS := tests/test_crash.py tests/test_faults.py tests/test_outbox_telegram.py \
	tests/test_multi_instance.py

pytest: setup
	$(BIN)/python -m pytest -n 2 $(addprefix --ignore=,$(TIMED_TESTS))
	$(BIN)/python -m pytest $(TIMED_TESTS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(CATALOG).mo $(ARGPARSE_CATALOG).mo

# Benchmarks (not part of `make test`): see the README for the latest figures.
# One instance (SQLite), then two on PostgreSQL (the leader stopped halfway).
bench-reminders: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.reminder_fanout --members 10000
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.reminder_fanout --members 10000 --instances 2 \
		--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

bench-summary: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.summary --sizes 10000,100000 \
		--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

bench-api: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.api --sizes 100000 --calls 20 \
		--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

bench-intake: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.intake --databases sqlite,postgres \
		--members 10000 --officers 300 --rate 100 --seconds 20 \
		--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

bench-dashboard: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.dashboard --size 100000 \
		--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

# The README's screenshots of the dashboard, taken by its browser tests in headless Chromium.
screenshots: setup
	PGIBOT_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_dashboard_browser.py

# Kill the real bot with SIGKILL twenty times while it works (about three minutes), then the
# leader of two instances on PostgreSQL twenty times (see docs/benchmarks.md).
crash: setup
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.crash --kills 20 --members 2000 --officers 30
	PTB_TIMEDELTA=true $(BIN)/python -m benchmarks.crash --kills 20 --members 2000 --officers 30 \
		--instances 2 --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
