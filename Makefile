# One venv, one install, two test passes (all compiled, then the hot loop's tests pure).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test bench bench-save bench-compare demo clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

install: $(PY)
	$(PY) -m pip install -q -e '.[dev]'

# The first pass runs every test and requires the compiled extension (a failed
# build fails it); tests that start `resque work` processes run each hot-loop
# twin there already. The second pass reruns, on the pure-Python twins, the
# tests that drive the hot loop and the codec inside the test process.
PURE_TESTS ?= $(addprefix tests/,test_accel.py test_codec.py test_client.py test_worker.py \
	test_badinput.py test_undecodable.py test_reserve_script.py test_ruby_parity.py \
	test_job_timing.py test_timeouts.py test_retry.py test_lock.py test_aio.py test_failure.py \
	test_public_api.py test_scheduler_mover.py test_scheduler_delayed.py test_registry.py \
	test_timing.py)

test: install
	RESQUE_REQUIRE_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider
	RESQUE_NO_EXTENSIONS=1 $(PY) -m pytest -q -p no:cacheprovider -m "not packaging" $(PURE_TESTS)

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
