# The README's commands. `make run` serves the app on the embedded default (SQLite, no
# Redis) through the Procfile's gunicorn command; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install dev-install migrate clean

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

install: $(VENV)/.installed

dev-install: $(VENV)/.dev-installed

# The `flask` CLI runs unpatched: migrations need no event loop.
migrate: install
	WEBCHAT_NO_PATCH=1 $(BIN)/flask db upgrade

run: migrate
	HOST=$${HOST:-127.0.0.1} PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: dev-install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
