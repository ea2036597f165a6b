# softmax-study: `make test` and `make report` set everything up on a
# fresh machine that has Python 3.11, pip and gcc.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help test test-levels data baseline worstcases mutation lint clean
.PHONY: report bench

help:  ## list the targets
	@echo "make test    build $(VENV) from requirements.lock if needed, run the whole test suite"
	@echo "make test-levels  the numerics tests again with numpy stopped below AVX-512 and below AVX2 (NPY_DISABLE_CPU_FEATURES)"
	@echo "make data    bring reports/data/ up to date: the studies whose code, settings or versions changed (sweep.parquet, ..., manifest.json)"
	@echo "make report  make data, then build reports/softmax_study.html (one offline file) from reports/data/ alone"
	@echo "make bench   measure the cost of stability (implementations vs naive/SciPy/copy floor, report cold/warm, sweep points/s) into reports/data/bench.json (minutes; not part of make test)"
	@echo "make baseline  rewrite tests/baselines/error_budgets.json (accept improved error budgets) and show the diff"
	@echo "make worstcases  rerun the worst-case search and rewrite tests/baselines/worst_cases.json (then make baseline)"
	@echo "make mutation  mutation testing of softmax.py, reference.py, metrics.py with mutmut (slow)"
	@echo "make lint    ruff over the project"
	@echo "make clean   remove $(VENV) and caches (not reports/)"

# The virtual environment is rebuilt when the pinned requirements change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

test: $(STAMP)  ## run the test suite on both cores
	$(PY) -m pytest -n 2 tests

# The tests of numerical results, rerun at lower numpy SIMD dispatch levels: a
# test that leans on one CPU's exp/log fails here, not on a user's machine.
NUMERICS_TESTS := tests/test_softmax.py tests/test_crmath.py tests/test_algorithms.py tests/test_budgets.py \
	tests/test_worstcase.py tests/test_reference.py tests/test_fastref.py tests/test_metrics.py \
	tests/test_logsoftmax.py tests/test_bhh2021.py tests/test_bounds.py tests/test_special.py tests/test_hostlib.py \
	tests/test_taxonomy.py tests/test_bhh2021_authors.py

test-levels: $(STAMP)  ## the numerics tests at the lower dispatch levels of this CPU
	@$(PY) -m analysis.studies.hostlib --list-lower-levels | while IFS='	' read -r name disable; do \
	  echo "numerics tests with numpy at $$name (NPY_DISABLE_CPU_FEATURES=\"$$disable\")"; \
	  NPY_DISABLE_CPU_FEATURES="$$disable" $(PY) -m pytest -n 2 -q $(NUMERICS_TESTS) || exit 1; \
	done

mutation: $(STAMP)  ## mutation testing of the pure numerics (slow; not part of make test)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut results

baseline: $(STAMP)  ## accept improved error budgets: rewrite tests/baselines/error_budgets.json, show the diff
	$(PY) tools/baselines.py budgets --write

worstcases: $(STAMP)  ## rerun the worst-case search (cached), rewrite tests/baselines/worst_cases.json, show the diff
	$(PY) tools/baselines.py worstcases --write

data: $(STAMP)  ## every study whose key changed (analysis.pipeline); reruns only what changed
	$(PY) -m analysis sweep

report: $(STAMP)  ## the stale studies, then reports/softmax_study.html from reports/data/ alone
	$(PY) -m analysis report

bench: $(STAMP)  ## timings on this machine -> reports/data/bench.json (never part of make test)
	$(PY) -m analysis bench

lint: $(STAMP)
	$(VENV)/bin/ruff check analysis tests tools

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
