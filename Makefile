# One-command entry points. Each target creates .venv and installs the pinned requirements when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: help install demo test lint bench bench-history stop clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned requirements into $(VENV) (first run takes a minute or two) …"
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -r requirements.txt
	@$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## create .venv and install everything

demo: install  ## start the warehouse, simulate 90 days, run the DAG through Airflow, print KPIs, write the report
	@$(BIN)/saas-analytics warehouse start
	@$(BIN)/saas-analytics simulate --incident outage@2026-07-15 --incident signup_spike@2026-08-12
	@# the simulator has just written complete files: no need to wait LANDING_SETTLE_SECONDS for uploads to finish
	@LANDING_SETTLE_SECONDS=0 $(BIN)/saas-analytics run
	@$(BIN)/saas-analytics summary
	@$(BIN)/saas-analytics report
	@echo
	@echo "Query it:  $(BIN)/saas-analytics psql -c 'select * from analytics.mrr_monthly order by month'"
	@echo "Stop it:   $(BIN)/saas-analytics warehouse stop"

test: install  ## run the test suite (starts and stops its own Postgres and Airflow)
	@$(BIN)/pytest

lint: install  ## ruff (with Airflow rules) and sqlfluff
	@$(BIN)/ruff check src dags tests
	@$(BIN)/sqlfluff lint sql --dialect postgres

bench: install  ## loader throughput against a bare COPY of the same 1M-event file
	@$(BIN)/python -m saas_analytics.bench

BENCH_HISTORY_ARGS ?=
bench-history: install  ## one day's run early (day 60) and late (day 358) in a simulated year, per stage
	@$(BIN)/python -m saas_analytics.bench_history $(BENCH_HISTORY_ARGS)

stop:  ## stop the embedded warehouse
	@$(BIN)/saas-analytics warehouse stop

clean: stop  ## stop and delete the project's data folder
	rm -rf data
