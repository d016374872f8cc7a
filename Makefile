# The two commands of the README: `make demo` and `make test`. `make bench` prints the figures.
SHELL := /bin/bash
VENV := .venv
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000

.PHONY: setup demo test bench lint stop clean

setup:
	bash scripts/setup.sh

demo: setup
	REPORTER_MODE=demo $(FLASK) db upgrade
	REPORTER_MODE=demo $(FLASK) demo seed
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops the site and the private database)"
	REPORTER_MODE=demo PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app; \
	  status=$$?; REPORTER_MODE=demo $(FLASK) db stop >/dev/null 2>&1; exit $$status

test:
	bash scripts/setup.sh --browser
	$(VENV)/bin/ruff check reporter tests bench
	$(VENV)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python -m bench

lint:
	$(VENV)/bin/ruff check reporter tests bench

stop:
	REPORTER_MODE=demo $(FLASK) db stop
