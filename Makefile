# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= 1

.PHONY: setup run test test-fast lint check format migrate check-deploy worker beat bench ci clean

# The license server and the SDK signer (license-server/, sdk-signer/, their own distributions)
# are installed too: the tests run them.
$(STAMP): pyproject.toml license-server/pyproject.toml sdk-signer/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./license-server -e ./sdk-signer
	touch $(STAMP)

# Its wheel, offered in the vendor dashboard: built offline into LICENSE_SERVER_WHEEL_DIR,
# again whenever its source changes.
SERVER_WHEEL_STAMP := $(VENV)/.license-server-wheel
$(SERVER_WHEEL_STAMP): $(STAMP) $(wildcard license-server/*.toml license-server/*.md license-server/license_server/*.py)
	$(PY) manage.py build_license_server_wheel
	touch $(SERVER_WHEEL_STAMP)
# The SDK signer's wheel, offered on the SDK developers pages, likewise.
SIGNER_WHEEL_STAMP := $(VENV)/.sdk-signer-wheel
$(SIGNER_WHEEL_STAMP): $(STAMP) $(wildcard sdk-signer/*.toml sdk-signer/*.md sdk-signer/sdk_signer/*.py)
	$(PY) manage.py build_sdk_signer_wheel
	touch $(SIGNER_WHEEL_STAMP)

# A development .env (DEBUG=1), read by the settings for what the environment does not set, so
# that `.venv/bin/python manage.py ...` works as typed. Never overwritten; not for production.
.env:
	printf '%s\n' '# Written by `make setup` for development: the settings read it for variables the' \
		'# environment does not set. Production sets its variables in the environment' \
		'# (see .env.example and deploy/portal/); delete this file there.' 'DEBUG=1' > .env

setup: $(STAMP) $(SERVER_WHEEL_STAMP) $(SIGNER_WHEEL_STAMP) .env

migrate: setup
	$(PY) manage.py migrate --noinput

run: setup migrate
	$(PY) manage.py seed_demo
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL is set: start Celery with 'make worker' and 'make beat' in other terminals."; \
	fi
	@echo "Portal: http://$(HOST):$(PORT)/  (demo@example.com / demo-password-1)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# The suite runs on two processes (pytest-xdist; each has its own test database): about half
# the time of one on a 2-core machine. PYTEST_ARGS= runs it in one.
PYTEST_ARGS ?= -n 2

test: setup
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Quick loop while coding: stop at the first failure, no browser tests.
test-fast: setup
	$(PY) -m pytest -x -q -m "not browser" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

# The shape CI keeps: ruff, the import contracts between apps (pyproject.toml
# [tool.importlinter]) and mypy with django-stubs over apps/ and licensing_portal/.
check: lint
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .

# Production settings (DEBUG=0, a throwaway SECRET_KEY) must pass `check --deploy` with no warning.
check-deploy: setup
	DEBUG=0 ALLOWED_HOSTS=licensing.example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

# Both queues: the default one and "anomalies" (model training). In production, give training
# its own worker (deploy/portal/).
worker: setup
	$(VENV)/bin/celery -A licensing_portal worker -Q celery,anomalies,webhooks --loglevel=info

beat: setup
	$(VENV)/bin/celery -A licensing_portal beat --loglevel=info

bench: setup
	@for f in bench/*.py; do \
		[ -e "$$f" ] || { echo "No benchmarks in bench/ yet."; continue; }; \
		echo "== $$f"; $(PY) "$$f" || exit 1; \
	done

# What CI runs: installs and starts PostgreSQL, Redis and chromium (as root), then `make test`.
ci:
	bash .ci/run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
