# The commands the README documents. Each target creates or reuses .venv and installs
# what it needs, so a fresh clone with only Python 3.11+ can run `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: demo test quick lint typecheck run bench install chromium clean messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Nurture needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Prism (the providers' contract mock) comes from npm; without npm those tests skip
# locally, and fail in CI where NURTURE_REQUIRE_SERVICES=1.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: contract tests against Prism will not run"; fi

install: $(STAMP)

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`:
# no test tool downloads a browser). Without it they skip locally; CI installs it.
chromium:
	@test -x /usr/bin/chromium || { \
		apt-get update -qq && apt-get install -y --no-install-recommends chromium; }

demo: $(STAMP)
	$(BIN)/nurture demo

run: $(STAMP)
	$(BIN)/nurture run

# The pages a lead sees, in every language: extract what templates/web and nurture/web
# mark for translation (babel.cfg), then add the new English to each catalogue to write
# its translation (tests fail until every message has one).
LOCALE := nurture/web/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -k N_ -o $(LOCALE)/pages.pot .
	$(BIN)/pybabel update -i $(LOCALE)/pages.pot -d $(LOCALE) -D pages --width 88

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite: tests that run in-process go on both cores (pytest-xdist, a module per
# worker, each worker with PostgreSQL databases of its own); the tests that start
# workers, beat, Prism or Chromium, and time what they do, then run one at a time.
IN_PROCESS := not worker and not browser and not prism
test: $(STAMP) $(NODE_STAMP) lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile -m "$(IN_PROCESS)"
	$(BIN)/pytest -m "not ($(IN_PROCESS))"

# The inner loop while working: in-process tests on SQLite only, in parallel, without
# the few that take seconds each (the demo's rehearsals, fuzzing, a 10,000-event post).
# Their files go to RAM where Linux offers it: a SQLite commit costs about 0.8 ms on a
# disk and 0.02 ms in /dev/shm, and each test commits dozens of times.
QUICK_TEMP := $(if $(wildcard /dev/shm/.),--basetemp=/dev/shm/nurture-quick-$(shell id -u),)
# Folders holding only process-level tests are not even imported (Playwright, Prism),
# nor is Schemathesis's pytest plugin (only the fuzz tests use it).
QUICK_SKIP := --ignore=tests/e2e --ignore=tests/browser --ignore=tests/contract \
	--ignore=tests/web/test_fuzz_public_routes.py -p no:schemathesis
quick: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile -q -m "$(IN_PROCESS) and not slow" -k "not postgres" \
		$(QUICK_SKIP) $(QUICK_TEMP)

# Each benchmark measures its baseline in the same run and ends with a ratio line.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.events
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.overload

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
