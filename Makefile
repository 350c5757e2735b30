# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint bench bench-web clean

$(STAMP): pyproject.toml web/assets/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	npm ci --prefix web/assets --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## make run: deploy workflows/, seed demo people and complaints (SQLite), run the timer scheduler
run: $(STAMP)
	$(BIN)/complaintflow run

## make test: lint, then the whole suite on SQLite and on PostgreSQL
test: $(STAMP)
	$(BIN)/ruff check .
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/engine_overhead.py

## make bench-audit: history events verified per second (1,000,000 events) and replay time per case (1,000 cases)
.PHONY: bench-audit
bench-audit: $(STAMP)
	$(BIN)/python bench/audit.py

bench-web: $(STAMP)
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/python bench/web_load.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache instance

## make bench-timers: 10,000 timers due within a minute on PostgreSQL, fired by 1, 2 and 4 processes
.PHONY: bench-timers
bench-timers: $(STAMP)
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/python bench/timer_storm.py
