# 工伤保险协议管理与结算平台 — everyday commands. `make demo` and `make test` are all a fresh
# Debian machine needs; see README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed

# Debian packages the portal needs at run time: CJK fonts and Pango for WeasyPrint's PDFs,
# Chromium for the browser tests, pdftoppm to look at PDFs as images, venv to make .venv.
SYSTEM_PACKAGES := python3-venv fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 chromium poppler-utils

# Print a URL without its password.
MASK_URL := sed -E 's|(://[^:/@]*):[^@]*@|\1:***@|'

TEST_DATABASE_URL := postgres://postgres@127.0.0.1:5432/portal
TEST_REDIS_URL := redis://127.0.0.1:6379/0
PYTEST_WORKERS ?= auto

.PHONY: help install system-deps services demo test lint check schema

help:
	@echo "make demo         install everything, load demo data, serve http://127.0.0.1:8000"
	echo "make test         run the tests on PostgreSQL (starts PostgreSQL and Redis if needed)"
	echo "make install      create .venv and pip install -e '.[dev]'"
	echo "make system-deps  apt-get install the Debian packages (root only; skipped otherwise)"
	echo "make services     make sure PostgreSQL and Redis answer"
	echo "make check        Django system checks and missing-migration check (alias: lint)"
	echo "make schema       write the OpenAPI schema to var/openapi.yaml"

# Reinstall only when pyproject.toml changed since the last install.
install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then
		echo "Creating $(VENV) (python3 -m venv)"
		python3 -m venv $(VENV)
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

system-deps:
	@missing=()
	for pkg in $(SYSTEM_PACKAGES); do
		dpkg -s "$$pkg" >/dev/null 2>&1 || missing+=("$$pkg")
	done
	[ $${#missing[@]} -eq 0 ] && exit 0
	if [ "$$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		# Not root: leave the system alone, just say what is missing.
		echo "system-deps: not installing $${missing[*]} (needs root: sudo make system-deps)" >&2
		exit 0
	fi
	echo "Installing Debian packages: $${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "$${missing[@]}" </dev/null

services:
	@bash scripts/ensure-services.sh

# DJANGO_DEBUG=1 so that runserver serves static and media files.
demo: system-deps install
	@export DJANGO_DEBUG=1
	if [ -n "$${DATABASE_URL:-}" ]; then
		echo "Database: DATABASE_URL = $$($(MASK_URL) <<<"$$DATABASE_URL")"
	else
		echo "Database: embedded SQLite ($(CURDIR)/db.sqlite3); set DATABASE_URL to use PostgreSQL"
	fi
	if [ -n "$${REDIS_URL:-}" ]; then
		echo "Celery: Redis broker REDIS_URL = $$($(MASK_URL) <<<"$$REDIS_URL") (start a worker: $(VENV)/bin/celery -A config worker)"
	else
		echo "Celery: REDIS_URL not set, tasks run in-process"
	fi
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	$(MANAGE) collectstatic --noinput --verbosity 0
	echo "Portal: http://127.0.0.1:8000/accounts/login/ — log in as one of the users above (Ctrl-C stops it)"
	exec $(MANAGE) runserver 127.0.0.1:8000

# The tests run on PostgreSQL; pytest-django creates (and drops) its own test_ database.
# Pass extra pytest arguments with PYTEST_ARGS="-k registry -x".
test: system-deps install services
	@export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}"
	export REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}"
	case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; *)
		echo "make test needs a PostgreSQL DATABASE_URL, got: $${DATABASE_URL%%:*}://…" >&2; exit 2 ;;
	esac
	if command -v psql >/dev/null; then
		if ! psql "$$DATABASE_URL" -tAc 'select 1' >/dev/null 2>&1 </dev/null; then
			db="$${DATABASE_URL##*/}"; db="$${db%%\?*}"
			echo "Creating database $$db"
			psql "$${DATABASE_URL%/*}/postgres" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$$db\"" </dev/null
		fi
	else
		echo "psql not found: not checking that the database exists (apt-get install postgresql-client)"
	fi
	echo "Testing on $$($(MASK_URL) <<<"$$DATABASE_URL"), Redis $$REDIS_URL"
	mkdir -p var
	rc=0
	# Two workers (-n): the machine has two cores; each worker gets its own test database.
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || rc=$$?
	echo "$$rc" > var/pytest.rc
	if [ "$$rc" -eq 5 ]; then
		echo "make test: pytest collected no tests (exit code 5) — that is a failure, not a pass." >&2
	fi
	exit "$$rc"

check: install
	@$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

lint: check

schema: install
	@mkdir -p var
	$(MANAGE) spectacular --file var/openapi.yaml
	echo "Wrote var/openapi.yaml"
