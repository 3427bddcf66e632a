# edgemt: two commands for a newcomer on a fresh machine.
#   make run   sets up the controller and the torch environment, then starts the terminal UI
#   make test  sets up everything the tests need (all five framework environments) and runs them
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EDGEMT := $(BIN)/edgemt
STAMP := $(VENV)/.installed

FLEET_STAMP := $(VENV)/.installed-fleet

FLOOR := .venv-floor
FLOOR_STAMP := $(FLOOR)/.installed

.PHONY: run test check setup envs models system-deps clean demo bytecode floor

# Reinstalled when pyproject.toml changes or a package is added (an editable install maps
# the top-level packages it found when it was made).
$(STAMP): pyproject.toml $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Ray, for edgemt fleet and its tests (tests/fleet): make test installs it, make check
# leaves it out (its tests are marked 'fleet').
$(FLEET_STAMP): $(STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test,fleet]'
	touch $(FLEET_STAMP)

# Compiled once here, so no start of edgemt compiles its sources: where
# PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile them at every start
# (a third of the UI's time to first frame on a 2-core VM).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q tui runners storage collectors themes

# tmux drives the real `edgemt` in a real terminal in one UI test.
system-deps:
	@command -v tmux >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq tmux >/dev/null)

envs: $(STAMP)
	$(EDGEMT) env create torch
	$(EDGEMT) env create tflite
	$(EDGEMT) env create tensorflow
	$(EDGEMT) env create mxnet
	$(EDGEMT) env create onnxruntime

# The study's three full-int8 TFLite models, made from Keras in the tensorflow environment, and
# what the onnxruntime tests run: the nine as fp32 ONNX (exported in the torch environment)
# and int8 for the study's three TFLite models' counterparts. All cached: remade only when
# their inputs change.
models: envs
	$(EDGEMT) models prepare tflite mobilenet_v2 mobilenet_v1 inception_v3
	$(EDGEMT) models prepare onnx --precision fp32
	$(EDGEMT) models prepare onnx --precision int8 mobilenet_v2 mobilenet_v1 inception_v3

run: $(STAMP) bytecode
	$(EDGEMT) env create torch
	$(EDGEMT)

demo: $(STAMP)
	$(EDGEMT) env create torch
	$(EDGEMT) run --tenant mobilenet_v2,count=2 --tenant resnet18 --duration 10

# Every test. All but the fleet's four at a time: the framework tests keep a core busy each,
# and the tests on the oracle child mostly wait for windows, so four workers fill the two
# cores (on this 2-core VM: 17.7 min one at a time, 7.3 min at -n 4, docs/benchmarks.md).
# Tests are dealt out longest first (tests/conftest.py); each still starts the real `edgemt`.
# A worker that dies ends the run, naming the test (see check). Then the fleet's tests, on
# the machine alone: beside the others, a starved local Ray cluster once lost boards that
# were running and once never saw a dropped board come back (docs/benchmarks.md).
test: $(STAMP) $(FLEET_STAMP) bytecode system-deps models
	$(BIN)/python -m pytest -q -ra -n 4 --dist loadgroup --max-worker-restart 0 -m "not fleet"
	$(BIN)/python -m pytest -q -ra -m fleet
	$(MAKE) --no-print-directory floor

# The edit-test loop (developers): the unit tests, the supervisor, CLI and UI tests that run
# on the oracle child (tests/oracle: the real wire protocol, batches of a known time) and the
# Pilot tests that replay recorded runs. Needs only the controller's venv: the tests marked
# 'frameworks' and 'fleet' (a local Ray cluster, tests/fleet) are left to `make test`,
# and the framework environments are hidden from the rest (tests/conftest.py). Its time is in docs/benchmarks.md.
# Ten workers on two cores: most of the oracle tests' time is waiting for windows, so more
# workers overlap more waits, each for ~1.5 s of CPU (its start and collection). At load
# 7-10 from other jobs, the same tree: -n 6 131 s, -n 10 73-82 s, -n 14 76 s
# (docs/benchmarks.md). Tests are dealt out one at a time, the long ones first
# (tests/conftest.py): xdist's default hands each worker a block of consecutive tests,
# and one worker got every long one (240 s where the others were done at 90 s).
# --dist loadgroup deals one test (or one xdist_group) at a time, two queued per worker,
# as --maxschedchunk 1 did, and keeps a group's tests on one worker, so a module-scoped
# fixture they share (an oracle run they only read) is made once
# (tests/oracle/test_oracle_fleet_report.py).
# Bytecode first and written: where PYTHONDONTWRITEBYTECODE is set, every `edgemt` a test
# starts would compile its sources again, and every worker would redo pytest's assertion
# rewriting of every test module (~2 s of CPU each); the caches are git-ignored.
# A worker that dies ends the run, naming the test it died in (--max-worker-restart 0):
# xdist 3.8's loadgroup scheduler, given a replacement worker, waits forever
# (pytest-xdist issues 1323 and 1327; seen once here under load). A test that hangs
# fails alone after 180 s (the longest take ~30 s on a loaded machine).
check: $(STAMP) bytecode
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -ra --no-frameworks -m "not fleet" -n 10 --dist loadgroup \
		--max-worker-restart 0 --timeout 180

# The oldest releases a board's Python gets: on Python 3.8 (JetPack 5, Ubuntu 20.04) pip
# installs Textual 6.2.1 and the others pinned in tests/python38-floor.txt. No 3.8 interpreter
# can be installed here, so they are installed on this Python and the controller's unit and UI
# tests run with them (vermin checks the syntax and standard library; snapshots are drawn by
# the newest Textual only, so they are left out here).
$(FLOOR_STAMP): pyproject.toml tests/python38-floor.txt $(wildcard */__init__.py)
	$(PYTHON) -m venv $(FLOOR)
	$(FLOOR)/bin/pip install --disable-pip-version-check -q -c tests/python38-floor.txt -e '.[test]'
	touch $(FLOOR_STAMP)

floor: $(FLOOR_STAMP) system-deps models
	$(FLOOR)/bin/python -m pytest -q -ra -p no:cacheprovider -n 4 --dist loadgroup --max-worker-restart 0 \
		tests/unit tests/tui --ignore=tests/tui/test_snapshots.py

clean:
	rm -rf $(VENV) $(FLOOR) build *.egg-info
