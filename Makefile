# rfm_loyalty: everything a fresh machine needs is installed from here.
#   make demo   set up and run the main job on the bundled sample (writes out/)
#   make test   set up and run ruff, mypy and the test suite on pandas 3.x and pandas 2.2

PYTHON ?= python3
VENV := .venv
VENV_PD2 := .venv-pd2
PYTEST_ARGS ?=

.PHONY: demo test services lint test-pd3 test-pd2 bench bench-core bench-scoring bench-btyd \
	bench-engines bench-pipeline bench-loyalty bench-export bench-dates samples clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]" "pandas>=3,<4"
	touch $@

# A second environment pins pandas 2.2: both major versions are supported.
$(VENV_PD2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV_PD2)
	$(VENV_PD2)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_PD2)/bin/python -m pip install --quiet -e ".[dev]" "pandas>=2.2,<2.3"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/rfm-loyalty demo --out out

test: services lint test-pd3 test-pd2

# Chromium (report rendering test) and PostgreSQL server binaries (SQL export
# test); the script says why and the tests skip when they cannot be installed.
services:
	sh scripts/install_test_services.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	cd src && ../$(VENV)/bin/lint-imports ../pyproject.toml

test-pd3: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-pd2: $(VENV_PD2)/.installed
	$(VENV_PD2)/bin/python -m pytest $(PYTEST_ARGS)

# Each benchmark measures its baseline in the same run and rewrites its own
# section of benchmarks/RESULTS.md. bench-engines writes 100M lines to disk first.
bench: bench-core bench-scoring bench-btyd bench-pipeline bench-loyalty

bench-core: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_core.py --sizes 1M 10M

bench-scoring: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_scoring.py

bench-btyd: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_btyd.py

bench-pipeline: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_pipeline.py --sizes 1M 10M

bench-loyalty: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_loyalty.py

bench-dates: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_dates.py --lines 13M

bench-engines: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_engines.py

# Export (CSV, Parquet) and report of a whole analysis at 100k and 1M customers, against
# read_orders + rfm_table and the code before the Arrow writer, in the same run.
bench-export: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_export.py --sizes 100k 1M

samples: $(VENV)/.installed
	$(VENV)/bin/python scripts/make_samples.py

clean:
	rm -rf $(VENV) $(VENV_PD2) out build *.egg-info src/*.egg-info
