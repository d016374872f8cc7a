# The two commands of the README: `make demo` and `make test`. `make bench` prints the figures.
SHELL := /bin/bash
VENV := .venv
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000

.PHONY: setup demo test test-fast bench bench-load backup restore lint lint-js stop clean

setup:
	bash scripts/setup.sh

demo: setup
	REPORTER_MODE=demo $(FLASK) db upgrade
	REPORTER_MODE=demo $(FLASK) demo seed
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops the site and the private database)"
	REPORTER_MODE=demo PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app; \
	  status=$$?; REPORTER_MODE=demo $(FLASK) db stop >/dev/null 2>&1; exit $$status

# CI runs this: the set-up, every lint, then every test (browser, slow and load included)
test:
	bash scripts/setup.sh --browser
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# the quick run while working: no database, no browser, nothing slow (under 30 s); the markers
# are in pyproject.toml, `db` is added by tests/conftest.py to every test that needs PostgreSQL
test-fast:
	$(VENV)/bin/python -m pytest -p no:cacheprovider -q -m "not browser and not slow and not load and not db" $(PYTEST_ARGS)

# the browser set-up: the page figures are measured in Debian's Chromium (bench/wire.py) and
# the load run starts its own redis-server
bench:
	bash scripts/setup.sh --browser
	$(VENV)/bin/python -m bench

# the load run alone (BENCH_LOAD_SECONDS, default 60); `make bench` includes it
bench-load: setup
	$(VENV)/bin/python -m bench.load

# database (pg_dump) + instance/keys, sealed to the offline backup key (instance/keys/backup.pub,
# made by `keys init` or `keys backup-init`), into instance/backups/reporter-<UTC time>/ (or
# BACKUP_DIR); run with the service's environment (DATABASE_URL, INSTANCE_PATH).
backup:
	$(VENV)/bin/python -m reporter.ops.backup create $(if $(BACKUP_DIR),--out "$(BACKUP_DIR)")

# restore into an empty database: make restore BACKUP=instance/backups/reporter-...
# asks for the backup secret (or reads BACKUP_SECRET_FILE, then BACKUP_SECRET)
restore:
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=<backup folder>" >&2; exit 2; }
	$(VENV)/bin/python -m reporter.ops.backup restore "$(BACKUP)"

# ruff, mypy ([tool.mypy] in pyproject.toml), the import contracts of DESIGN.md section 3
# (pyproject.toml, docs/architecture.md), and ESLint on our JavaScript
lint:
	$(VENV)/bin/ruff check reporter tests bench wsgi.py gunicorn.conf.py
	$(VENV)/bin/ruff format --check reporter tests bench wsgi.py gunicorn.conf.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(MAKE) --no-print-directory lint-js

# ESLint on our own scripts under reporter/static (eslint.config.js; vendor/ is ignored),
# installed from package-lock.json by scripts/setup.sh
lint-js:
	node_modules/.bin/eslint reporter/static

stop:
	REPORTER_MODE=demo $(FLASK) db stop

# what the tools and the set-up make again: the caches (__pycache__, .pytest_cache, .hypothesis,
# ruff's, mypy's, import-linter's), the precompressed static files (.gz, .br) and the compiled
# catalogs (.mo), both remade by scripts/setup.sh (`make setup`, `make translations` for the .mo).
# It keeps .venv, node_modules and reporter/static/vendor, and never touches instance/ (keys,
# the private database, backups).
clean:
	find . \( -path ./.venv -o -path ./node_modules -o -path ./instance -o -path ./.git \) -prune \
	  -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis .ruff_cache .mypy_cache .import_linter_cache
	find reporter/static \( -name '*.gz' -o -name '*.br' \) -type f -delete
	find reporter/translations -name '*.mo' -type f -delete

# Catalogs of the public pages (docs/translations.md): extract the strings from babel.cfg's
# sources into messages.pot, merge them into every language's messages.po (a changed string
# comes back fuzzy, for its translator to check), then compile the .mo files the site reads.
.PHONY: translations
translations:
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: \
	  --project=reporter --copyright-holder="Sisonke reports contributors" -o messages.pot .
	$(VENV)/bin/pybabel update -i messages.pot -d reporter/translations
	$(VENV)/bin/pybabel compile -d reporter/translations --statistics
