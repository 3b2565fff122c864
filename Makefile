# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
# test processes (pytest-xdist); 0 runs the suite in one process
TEST_WORKERS ?= auto
export FLASK_APP := admin
export PYTHONPATH := $(CURDIR)

.PHONY: install system-deps test-deps run test lint fmt bench migrate demo demo-code clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Debian packages (deploy/debian-packages.txt): WeasyPrint's libraries for everything, plus
# Chromium and faketime for the tests. Installed with apt-get when possible, else one clear line.
system-deps:
	@scripts/system-deps runtime

test-deps:
	@scripts/system-deps test || echo "make test: browser tests will be skipped without Chromium"

install: system-deps $(STAMP)

migrate: install
	$(PY) -m flask db upgrade
	$(PY) -m flask reference load

demo: migrate
	$(PY) -m flask demo load

run: demo
	@# an initial release, so every /feeds/current/... link works as soon as the URL is printed
	@$(PY) -m flask publish
	@echo
	@echo "  Crisis Services Registry: http://localhost:$(PORT)/"
	@echo "  Demo logins (password demo-password): provider@demo.test, reviewer@demo.test, admin@demo.test"
	@echo "  Staff second factor: TOTP secret JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP (any authenticator app, or: make demo-code)"
	@echo
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

test: install test-deps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=10 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	@test -n "$(wildcard bench/*.py)" || { echo "no benchmarks in bench/ yet"; exit 0; }; \
	for b in $(wildcard bench/*.py); do echo "== $$b"; $(PY) $$b || exit 1; done

demo-code: install
	@$(PY) -m flask demo totp

clean:
	rm -rf var/ .pytest_cache
