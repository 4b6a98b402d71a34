# The README's commands. Each one creates .venv with python3 (3.10 or newer) when it is
# missing and installs the package with its test extras into it, again only when
# pyproject.toml changed since the last install.
#   make demo   build the demo conda environments, run every example DAG with `airflow dags test`
#   make test   ruff (lint and format) and the whole pytest suite, end-to-end tests included
#               (installs Debian's chromium, chromium-driver and redis-server when missing)
#   make airflow  a local Airflow (API server, scheduler, DAG processor) serving the example DAGs;
#               prints the UI address and the login, stops on Ctrl-C
#   make test-matrix  the compatibility run (devtools/matrix.py): the tests that start no Airflow
#               servers and every example DAG, on each other Python 3.10-3.13 found on this machine
#               and on each older supported Airflow minor; run it after make test, same PYTHON

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# pip warns on every install about each configured index location it cannot read; one more
# level of quiet keeps its errors and drops those warnings, here and in the environments
# the demo and the tests build with pip.
export PIP_QUIET ?= 1

.PHONY: demo test test-matrix airflow system-packages

demo: $(INSTALLED)
	$(BIN)/python -m devtools.demo

airflow: $(INSTALLED)
	$(BIN)/python -m devtools.stack

test: $(INSTALLED) system-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-matrix: $(INSTALLED)
	$(BIN)/python -m devtools.matrix

# Chromium, its driver and redis-server for the end-to-end tests, from Debian's packages.
system-packages:
	@bash devtools/system_packages.sh

$(INSTALLED): pyproject.toml constraints-test.txt | $(BIN)/python
	@echo "Installing the package and its test tools into $(VENV)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' -c constraints-test.txt
	@touch $@

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
		echo "$(PYTHON) is missing or older than 3.10: run make PYTHON=python3.X with 3.10 or newer" >&2; \
		exit 1; }
	@echo "Creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "$(PYTHON) -m venv failed: on Debian/Ubuntu install the python3-venv package" >&2; \
		exit 1; }
