# gridgeo: `make run` (serve API + viewer on 127.0.0.1:8000) and `make test` (the whole suite)
# do all set-up on a fresh Debian machine: system packages, .venv, the package, sample data.

# The first Python >= 3.11 whose sqlite3 can load extensions (SpatiaLite, the embedded
# store); pyenv builds often cannot, Debian's /usr/bin/python3 can.
PYTHON ?= $(shell for p in python3 /usr/bin/python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sqlite3, sys; sys.exit(sys.version_info < (3, 11) or not hasattr(sqlite3.Connection, "enable_load_extension"))' 2>/dev/null && { command -v $$p; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Debian packages the project uses: SpatiaLite (embedded store), GDAL tools (ogrinfo in tests),
# PostGIS for the running PostgreSQL (benchmarks and the production store), chromium (the
# headless browser the map tests drive through Playwright), a CJK font so it draws Chinese,
# wrk (the HTTP load generator of benchmarks/bench_api.py) and QGIS's Python API (the tests open
# exported GeoPackages in QGIS itself).
SYSTEM_PACKAGES := libsqlite3-mod-spatialite gdal-bin postgresql-15-postgis-3 chromium \
	fonts-wqy-microhei wrk python3-qgis
SAMPLE := data/sample/boundaries.gpkg

.PHONY: run test data bench lint format messages setup system-packages clean

run: setup $(SAMPLE)
	$(BIN)/gridgeo validate $(SAMPLE)
	# rendered maps in maps/ (the validation map shows the real, messy Guilin districts)
	$(BIN)/gridgeo maps -o maps/ --validate data/real/guilin_districts.geojson
	$(BIN)/gridgeo serve --host 127.0.0.1 --port 8000

test: setup $(SAMPLE)
	$(BIN)/pytest -q

data: setup
	$(PY) -m gridgeo.sample

$(SAMPLE): | setup
	$(PY) -m gridgeo.sample

# DuckDB with its spatial extension, the batch engine users would pick instead of ours:
# its own venv, because the extension's PyPI package is built for one DuckDB release
# (1.5.5) while the tests read GeoParquet with the current one
BENCH_DUCKDB := .bench-duckdb
$(BENCH_DUCKDB)/bin/python:
	$(PYTHON) -m venv $(BENCH_DUCKDB)
	$(BENCH_DUCKDB)/bin/pip install -q duckdb==1.5.5 duckdb-extension-spatial==1.5.5

# tipg (developmentseed's OGC Features and Tiles server), what users would run instead of
# gridgeo serve for features and tiles: its own venv, from PyPI
BENCH_TIPG := .bench-tipg
$(BENCH_TIPG)/bin/python:
	$(PYTHON) -m venv $(BENCH_TIPG)
	$(BENCH_TIPG)/bin/pip install -q tipg==1.6.1 uvicorn

bench: setup $(SAMPLE) $(BENCH_DUCKDB)/bin/python $(BENCH_TIPG)/bin/python
	$(PY) benchmarks/bench_lookup.py
	$(PY) benchmarks/bench_assign.py
	$(PY) benchmarks/bench_assign_engines.py --rows 1000000 10000000 --store --compare c932088 --duckdb-python $(BENCH_DUCKDB)/bin/python
	$(PY) benchmarks/bench_assign_cli.py --rows 1000000
	$(PY) benchmarks/bench_assign_cli.py --rows 10000000
	$(PY) benchmarks/bench_api.py
	$(PY) benchmarks/bench_cases.py
	$(PY) benchmarks/bench_assess.py
	$(PY) benchmarks/bench_cli_start.py --compare 96c5061
	$(PY) benchmarks/bench_validate.py
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_serve_start.py --tipg-python $(BENCH_TIPG)/bin/python
	$(PY) benchmarks/bench_serve_memory.py --compare 342446a
	$(PY) benchmarks/bench_soak.py

lint: setup
	$(BIN)/ruff check gridgeo tests benchmarks
	$(BIN)/ruff format --check gridgeo tests benchmarks
	$(BIN)/mypy gridgeo
	$(BIN)/lint-imports

# The Chinese catalog: compile each part (.po, edited by hand) to the .mo the package reads.
# tests/test_i18n.py fails on a stale .mo; tests/i18n_catalog.py lists what a part lacks.
messages: setup
	for po in gridgeo/locale/*/LC_MESSAGES/*.po; do \
		$(BIN)/pybabel -q compile -i $$po -o $${po%.po}.mo || exit 1; done

format: setup
	$(BIN)/ruff format gridgeo tests benchmarks
	$(BIN)/ruff check --fix gridgeo tests benchmarks

setup: system-packages $(VENV)/.installed
	@# bytecode, as pip writes it for an installed package: an editable install has none,
	@# and where PYTHONDONTWRITEBYTECODE is set every command compiled its modules again
	@# (0.05 s of each start); quick when they are up to date
	@$(PY) -m compileall -q gridgeo

# Installs only what is missing; needs root (or sudo) the first time on a fresh machine.
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "gridgeo needs Python 3.11 or newer whose sqlite3 can load \
	extensions (Debian: apt-get install python3 python3-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) $(BENCH_DUCKDB) $(BENCH_TIPG) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
