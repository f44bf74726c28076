# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= 1

.PHONY: setup run test test-fast lint format migrate worker beat bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --noinput

run: setup migrate
	$(PY) manage.py seed_demo
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL is set: start Celery with 'make worker' and 'make beat' in other terminals."; \
	fi
	@echo "Portal: http://$(HOST):$(PORT)/  (demo@example.com / demo-password-1)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

format: setup
	$(VENV)/bin/ruff check --fix .

worker: setup
	$(VENV)/bin/celery -A licensing_portal worker --loglevel=info

beat: setup
	$(VENV)/bin/celery -A licensing_portal beat --loglevel=info

bench: setup
	@for f in bench/*.py; do [ -e "$$f" ] && $(PY) "$$f"; done; true

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
