# The README's commands. `make run` serves the app on the embedded default (SQLite, no
# Redis) through the Procfile's gunicorn command; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint install dev-install migrate clean bench translations messages audit

# The UI's catalogs (issue 18): webchat/translations/<locale>/LC_MESSAGES/messages.po are
# the source; the .mo files are build output, compiled here (and by the Procfile's web
# command on a Heroku-style host), never committed.
TRANSLATIONS := webchat/translations
LOCALES      := ko en
MO_FILES     := $(foreach l,$(LOCALES),$(TRANSLATIONS)/$(l)/LC_MESSAGES/messages.mo)
# gettext keywords: the server's lazy _l/_ln besides Babel's defaults, the scripts' t/tn.
KEYWORDS     := -k _l -k _ln:1,2 -k t -k tn:1,2

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "webchat needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed translations

translations: $(MO_FILES)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel -q compile -d $(TRANSLATIONS) -l $* -D messages

# After adding or changing a user-visible string: extract, then merge into each catalog
# (new strings arrive empty, never guessed from a similar one; `tests/test_i18n.py` fails
# until every one is translated).
messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg $(KEYWORDS) --no-wrap --sort-by-file \
		--project webchat -o $(TRANSLATIONS)/messages.pot .
	for locale in $(LOCALES); do $(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		-l $$locale --no-wrap --no-fuzzy-matching --ignore-pot-creation-date --init-missing || exit 1; done

dev-install: $(VENV)/.dev-installed

# The `flask` CLI runs unpatched: migrations need no event loop.
migrate: install
	WEBCHAT_NO_PATCH=1 $(BIN)/flask db upgrade

run: migrate
	HOST=$${HOST:-127.0.0.1} PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The suite runs on TEST_WORKERS processes (pytest-xdist), each taking whole test files, so
# that a module's shared server and fixtures stay in one process; TEST_WORKERS=0 runs it in
# this one (for -x, --pdb or reading one failure's output in order). Three on two cores:
# much of the suite waits on its servers and browsers, and a third worker fills that time
# (two used 1.3 of the 2 cores).
TEST_WORKERS ?= 3
test: lint translations test-js
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# The lint gate, part of `make test`: ruff (pyproject.toml), the import layers
# (import-linter's contracts in pyproject.toml: adapters -> services -> realtime, never
# back up, no adapter importing another) and ESLint.
lint: dev-install lint-js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The pages' JavaScript (needs Node 20+ and npm): ESLint over webchat/static/js and
# tests/js, installed from package-lock.json whenever it changes; the unit tests of the
# pure modules run on Node's built-in runner and need nothing installed.
.PHONY: lint-js test-js

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

lint-js: node_modules/.installed
	npx --no-install eslint webchat/static/js tests/js eslint.config.js

test-js:
	node --test tests/js/

# Benchmarks (issue 7): webchat beside its peers, results in bench/results/, tables and
# plots in BENCHMARKS.md. Needs MariaDB and Redis on 127.0.0.1, Node 18+ and npm.
# `BENCH_QUICK=1 make bench` is a smoke run of a few minutes; bench/run.py lists the knobs.
# Issue 25's capacity ramp (simulated users, Mattermost's action mix; bench/loadgen.js):
# `BENCH_SCENARIOS=capacity BENCH_TARGETS=webchat-eventlet,webchat-sqlite make bench`
# (BENCH_CAPACITY_N, BENCH_CAPACITY_STEP_SECONDS, BENCH_CAPACITY_IDLE_S).
# Not part of `make test`.
bench: $(VENV)/.dev-installed bench/node_modules/.installed
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py > bench/.last-results
	$(BIN)/python bench/report.py $$(cat bench/.last-results)
	$(BIN)/python bench/image_cost.py  # issue 24: what stripping image metadata costs (printed; half a minute)
	$(BIN)/python bench/send_cost.py --sends 2000  # issue 25: CPU per persisted send against the echo and transaction floors, same run (printed; a minute)

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	@touch $@

# Known vulnerabilities in the dependencies (README, "Security audit of the dependencies"):
# pip-audit over the pinned requirements and everything they pull in, npm audit over both
# lock files. It asks the advisory databases online, so it is not part of `make test`.
# --strict fails on a package it could not check, not only on a vulnerability; every
# part runs, and the target fails if any did.
audit: $(VENV)/.dev-installed
	@status=0; \
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements-dev.txt -r bench/requirements.txt || status=1; \
	npm audit --package-lock-only || status=1; \
	(cd bench && npm audit --package-lock-only) || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts bench/node_modules
