# supportops: `make demo` builds everything from scratch, `make test` runs the whole suite,
# `make test-fast` the tests that run no pipeline, dbt build of data or server.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# deploy/ (run and event storage on Postgres) when SUPPORTOPS_DAGSTER_PG_URL is set, as
# config/settings.py chooses for the CLI; `make dev` then serves that instance.
export DAGSTER_HOME := $(CURDIR)$(if $(SUPPORTOPS_DAGSTER_PG_URL),/deploy)
export UV_PYTHON_DOWNLOADS := never
# Runs over a range of days plan one event per asset, not one per partition, also when the
# Dagster UI or daemon of `make dev` starts them (the CLI sets it itself; run_history.py).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS := 1
# Python keeps the bytecode it compiles (__pycache__/, git-ignored) even where the shell sets
# PYTHONDONTWRITEBYTECODE: with it, every process compiled every module it imported again
# (8 of the 15 s that importing the Dagster definitions took; docs/operations.md, "Scaling").
unexport PYTHONDONTWRITEBYTECODE
# uv itself: the one on PATH, else one bootstrapped into .tools/ with nothing but python3.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
DEMO_ARGS ?= --scale demo --fault-rate 0.0005 --fault-kinds duplicate,null_required,bad_timestamp,unknown_enum,late_arrival

MANIFEST := dbt_project/target/manifest.json
# apt needs root: sudo only when we are not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests dbt_project/dbt_project.yml -type f 2>/dev/null)

.PHONY: help demo test test-fast golden lint secrets format dev install generate materialize manifest clean docs dashboard browser java postgres bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found: bootstrapping it into .tools/"
	python3 -m venv .tools 2>/dev/null && .tools/bin/python -m pip install --quiet uv \
	  || { rm -rf .tools && python3 -m pip install --quiet --target .tools/lib uv \
	       && mkdir -p .tools/bin && ln -sf ../lib/bin/uv .tools/bin/uv; }

# INSTALL_GROUPS: extra dependency groups; `make test` adds spark (dbt-spark, pyspark) for the
# Spark target's tests, so `make demo` stays without them.
install: $(UV) ## install the locked environment (uv sync --frozen)
	$(UV) sync --frozen $(addprefix --group ,$(INSTALL_GROUPS))

# Parsed as the pipeline's builds run dbt (orchestration/defs/warehouse.py): in the warehouse's
# folder, the profile naming the file alone. The first build then reuses this parse instead of
# parsing the whole project again, because dbt keys a parse to its profile and target.
WAREHOUSE_FILE := $(abspath $(or $(SUPPORTOPS_WAREHOUSE),$(or $(SUPPORTOPS_DATA_DIR),data)/warehouse.duckdb))
$(MANIFEST): $(DBT_SOURCES) | install
	mkdir -p "$(dir $(WAREHOUSE_FILE))"
	cd "$(dir $(WAREHOUSE_FILE))" && SUPPORTOPS_DBT_WAREHOUSE="$(notdir $(WAREHOUSE_FILE))" \
	  DBT_PROJECT_DIR="$(CURDIR)/dbt_project" DBT_PROFILES_DIR="$(CURDIR)/dbt_project" \
	  DBT_TARGET_PATH="$(CURDIR)/dbt_project/target" DBT_LOG_PATH="$(CURDIR)/dbt_project/logs" $(RUN) --project "$(CURDIR)" dbt parse --target dev --quiet

manifest: $(MANIFEST) ## parse the dbt project (dagster-dbt reads its manifest)

generate: install ## write the demo landing extracts under data/
	$(RUN) supportops generate --out data $(DEMO_ARGS)

materialize: install $(MANIFEST) ## load the sources in sources.yml (if any), materialise every asset
	@if [ -f "$${SUPPORTOPS_SOURCES:-sources.yml}" ]; then $(RUN) supportops sources load; fi
	$(RUN) supportops materialize

# Demo mode (SUPPORTOPS_DEMO=1): the published demo PII key when SUPPORTOPS_PII_KEY is unset,
# and dashboards open without a login when .streamlit/secrets.toml has no [auth]. Only the demo
# targets set it: `make materialize` on your own data refuses to start without a key.
demo dashboard: export SUPPORTOPS_DEMO = 1
demo: install ## install, generate demo data, materialise every asset, print the summary
	$(MAKE) --no-print-directory clean
	$(MAKE) --no-print-directory generate
	$(MAKE) --no-print-directory materialize
	$(RUN) supportops summary
	@echo "Dashboards: make dashboard (or ./supportops dashboard --demo), then open http://127.0.0.1:8501"
	@echo "Outreach list: ./supportops outreach (CSV in data/exports/outreach_list.csv); quality: ./supportops quality"

# The whole suite on TEST_WORKERS xdist workers: a module's tests, or the modules sharing a
# costly world, stay on one worker, costly groups first (tests/conftest.py, xdist_group).
# TEST_WORKERS=0 runs serially. The slowest tests are listed at the end (where the time goes).
TEST_WORKERS ?= auto
test: export INSTALL_GROUPS := spark
test: install lint browser java postgres $(MANIFEST) ## run the whole test suite (exit 5, no tests collected, fails)
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=20

# The inner loop: ruff, then every test not marked e2e (tests/conftest.py says how a test
# becomes e2e) on one xdist worker per core; sqlfluff is left to `make lint` / `make test`.
test-fast: install $(MANIFEST) ## ruff, then the tests not marked e2e (no pipeline run), in parallel
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) pytest -m "not e2e" -n auto

golden: install $(MANIFEST) ## rewrite tests/golden/dagster_definitions.json from the definitions
	SUPPORTOPS_UPDATE_GOLDEN=1 $(RUN) pytest tests/test_definitions_snapshot.py -q
	@git diff --stat -- tests/golden || true

lint: install ## ruff lint + format check, the secret scan, sqlfluff over the dbt models and tests
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(MAKE) --no-print-directory secrets
	$(RUN) sqlfluff lint dbt_project/models dbt_project/tests --processes 2

# detect-secrets over every tracked file; a finding not in .secrets.baseline fails. A false
# positive: mark the line `# pragma: allowlist secret`, or audit it into the baseline
# (`uv run detect-secrets scan --baseline .secrets.baseline`, then `detect-secrets audit`).
secrets: install ## the secret scan (detect-secrets against .secrets.baseline)
	git ls-files -z | grep -zv '^uv.lock$$' | xargs -0 $(RUN) detect-secrets-hook --baseline .secrets.baseline

format: install ## apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

java: ## install Debian's Java runtime when it is missing (the Spark target's tests run pyspark)
	command -v java >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y openjdk-17-jre-headless; }

# Debian keeps the server's binaries off PATH, under /usr/lib/postgresql/<version>/bin.
postgres: ## install Debian's PostgreSQL server when it is missing (the Postgres-backed Dagster test)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
	  || { $(SUDO) apt-get update && $(SUDO) apt-get install -y postgresql; }

browser: ## install Debian's chromium for the browser tests when it is missing
	command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# 1m (30,000 accounts, about 100M landing rows) also runs; it takes over an hour on 2 cores.
BENCH_SCALES ?= 30k 100k 300k
BENCH_ARGS ?= --quality-engine sql
# BENCH_ARGS=--spark adds the KPI mart's lineage on Spark (bench/lineage.py): the spark group and Java.
bench: export INSTALL_GROUPS := $(INSTALL_GROUPS) $(if $(findstring --spark,$(BENCH_ARGS)),spark)
bench: install $(MANIFEST) $(if $(findstring --spark,$(BENCH_ARGS)),java) ## benchmark the pipeline at growing scales (BENCH_SCALES) into bench/results/
	$(RUN) supportops bench $(addprefix --scale ,$(BENCH_SCALES)) $(BENCH_ARGS)

dashboard: install ## the Streamlit dashboards on http://127.0.0.1:8501 (reads data/serving.duckdb)
	$(RUN) streamlit run dashboards/app.py --server.headless true --server.address 127.0.0.1 \
	  --server.port 8501 --browser.gatherUsageStats false

dev: install $(MANIFEST) ## open the Dagster UI on http://127.0.0.1:3000
	$(RUN) dagster dev -h 127.0.0.1 -p 3000

docs: install ## dbt docs of the demo warehouse on http://127.0.0.1:8081 (SUPPORTOPS_WAREHOUSE overrides it)
	@test -f "$(WAREHOUSE_FILE)" || { echo "no warehouse at $(WAREHOUSE_FILE): run make demo first" >&2; exit 1; }
	cd dbt_project && SUPPORTOPS_WAREHOUSE="$(WAREHOUSE_FILE)" $(RUN) dbt docs generate --profiles-dir .
	cd dbt_project && $(RUN) dbt docs serve --port 8081 --host 127.0.0.1 --no-browser --profiles-dir .

clean: ## remove everything the pipeline wrote
	rm -rf data .dagster
