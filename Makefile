# One venv, one install, two test passes (compiled, then pure Python).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test test-compiled test-pure bench bench-save bench-compare demo clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

install: $(PY)
	$(PY) -m pip install -q -e '.[dev]'

# The first pass requires the compiled extension (a failed build fails it);
# the packaging tests build and install the sdist and wheel once, in that pass.
test: install
	RESQUE_REQUIRE_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider
	RESQUE_NO_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider -m "not packaging"

bench: install
	$(PY) -m pytest bench -q -p no:cacheprovider --benchmark-group-by=func
	$(PY) bench/throughput.py

# Guard speed: `make bench-save` on the code to compare with, then change the
# code and `make bench-compare`: it fails when a benchmark's minimum time (best
# of several runs) is BENCH_TOLERANCE percent or more above the baseline's.
BENCH_TOLERANCE ?= 20

bench-save: install
	$(PY) bench/compare.py save

bench-compare: install
	$(PY) bench/compare.py compare --tolerance $(BENCH_TOLERANCE)

clean:
	rm -rf build dist *.egg-info resque/*.so ext/*.c

demo: $(PY)
	$(PY) -m pip install -q -e '.[web,embedded]'
	$(VENV)/bin/resque demo $(DEMO_ARGS)
