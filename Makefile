# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# pytest-xdist processes; each has a PostgreSQL database of its own (test_gw0, test_gw1...).
TEST_WORKERS ?= 2

.PHONY: run test lint bench bench-web clean system-tools browser-tools

# What the machine itself must have: npm for the served JavaScript (both commands); Chromium and a
# CJK font for the browser tests, Redis for the several-workers test (make test). As root they are
# installed with apt-get; otherwise the make stops at once with the command to run. A missing tool
# fails, it never skips.
define need_packages
	@missing=""; for check in $(1); do \
	  pkg=$${check%%:*}; test=$${check#*:}; sh -c "$$test" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing:$$missing. Run: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	fi
endef

system-tools:
	$(call need_packages,npm:'command -v npm')

browser-tools:
	$(call need_packages,chromium:'test -x /usr/bin/chromium' fonts-noto-cjk:'fc-list | grep -qi "Noto Sans CJK"' redis-server:'test -x /usr/bin/redis-server')

$(STAMP): pyproject.toml web/assets/package-lock.json | system-tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	npm ci --prefix web/assets --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## make run: deploy workflows/, seed demo people and complaints (SQLite), run the timer scheduler
run: $(STAMP)
	$(BIN)/complaintflow run

# The real OpenID Connect provider the sign-in tests run on loopback (npm's oidc-provider, tests/oidc_peer).
OIDC_PEER := tests/oidc_peer/node_modules/.installed
$(OIDC_PEER): tests/oidc_peer/package-lock.json | system-tools
	npm ci --prefix tests/oidc_peer --no-audit --no-fund --loglevel=error
	touch $(OIDC_PEER)

## make test: lint, then the whole suite on SQLite and on PostgreSQL
test: browser-tools $(STAMP) $(OIDC_PEER)
	$(BIN)/ruff check .
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest -n $(TEST_WORKERS) --durations=25
	@echo "mechanism tests again, with every shipped deadline lengthened as a process owner might (tests/deadline_shift.py):"
	COMPLAINTFLOW_TEST_SHIFT_DEADLINES=1 $(BIN)/pytest -n $(TEST_WORKERS) -q -p no:cacheprovider -m "not spec" -k sqlite --ignore=tests/web tests

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

## make bench-statistics: the statistics page's latency for a month and a year at 10,000 and 100,000 complaints (SQLite, PostgreSQL)
.PHONY: bench-statistics
bench-statistics: $(STAMP)
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/python bench/statistics_page.py

## make bench-timers: 10,000 timers due within a minute on PostgreSQL, fired by 1, 2 and 4 processes
.PHONY: bench-timers
bench-timers: $(STAMP)
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/python bench/timer_storm.py

## make bench-notifications: notices e-mailed per second with 1 and 4 workers, deadline-to-inbox delay (PostgreSQL)
.PHONY: bench-notifications
bench-notifications: $(STAMP)
	COMPLAINTFLOW_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/python bench/notifications.py
