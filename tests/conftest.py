"""Shared fixtures: every test gets its own config folder and DB, but the real framework
environments (made by `make test`) stay reachable through an [envs] table in config.toml.

Two tiers. `make test` runs everything. `make check` (``pytest --no-frameworks``) is the
edit-test loop: it deselects the tests marked ``frameworks`` (those that start a real
framework's runner child) and hides the framework environments from the rest, so a test
that needs one without its mark fails there instead of quietly making the tier slow, and
the tier runs the same on a fresh clone with only the controller's venv. The mark is set
here (``pytest_collection_modifyitems``), from what a test uses: the fixtures of
FRAMEWORK_FIXTURES, or a call of ``require_env``/``ensure_tflite_model``/``ensure_onnx_models``/``run_in_env`` in its own
code; ``@pytest.mark.frameworks`` marks one by hand."""
import gc
import inspect
import os
import tempfile

import pytest

import edgemt_testlib

# Fixtures that start real framework children (tests/child, tests/tui/conftest.py).
FRAMEWORK_FIXTURES = {"child_factory", "tflite_models_dir", "live_session"}
# Calls that reach a framework environment (tests/edgemt_testlib.py).
FRAMEWORK_CALLS = ("require_env(", "ensure_tflite_model(", "ensure_onnx_models(", "run_in_env(")
# Modules whose every test starts real framework children through a helper of its own.
FRAMEWORK_MODULES = {
    "tests/child/test_child_all_models.py", "tests/child/test_child_inputs.py",
    "tests/child/test_child_onnxruntime.py", "tests/child/test_child_tensorflow_mxnet.py",
    "tests/child/test_child_tflite.py", "tests/child/test_child_torch.py",
    "tests/experiments/test_real.py",  # sweeps, DMP, tune on real CPU tenants
    "tests/tui/test_tmux.py", "tests/tui/test_follow_keep_running.py",  # the real UI on real tenants
}


def pytest_addoption(parser):
    parser.addoption("--no-frameworks", action="store_true",
                     help="the fast tier (make check): deselect tests marked 'frameworks' and hide the "
                          "framework environments from the others")


def pytest_configure(config):
    if config.getoption("--no-frameworks"):
        # Nothing of the machine's: no [envs] in a config, no envs in the data folder.
        empty = tempfile.mkdtemp(prefix="edgemt-no-frameworks-")
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            os.environ[var] = os.path.join(empty, var.lower())
        edgemt_testlib.REAL_ENVS.clear()
        edgemt_testlib.REAL_DATA_HOME = os.environ["XDG_DATA_HOME"]
        edgemt_testlib.ZYGOTE_RUNS = True  # run_edgemt forks its commands (tests/edgemt_testlib.py)


def pytest_unconfigure(config):
    edgemt_testlib.close_zygote()


def needs_frameworks(item) -> bool:
    if item.get_closest_marker("frameworks") is not None:
        return True
    if FRAMEWORK_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    if item.nodeid.split("::")[0] in FRAMEWORK_MODULES:
        return True
    case = getattr(item, "callspec", None) and item.callspec.params.get("case")
    if hasattr(case, "real"):  # a row of tests/bad_input_cases.py says whether it runs a real child
        return case.real
    return _calls_a_framework(getattr(item, "function", None))


_CALLS_A_FRAMEWORK = {}
FRAMEWORK_NAMES = frozenset(call.rstrip("(") for call in FRAMEWORK_CALLS)


def _calls_a_framework(function) -> bool:
    """Whether FUNCTION's own code (or a function or lambda written inside it) names one of
    FRAMEWORK_CALLS; once per function (a parametrized test is one function for many
    items). Read from the compiled code's names, not its source: every test worker decides
    this for every test, and tokenizing ~400 test functions' source was ~0.4 s of each
    worker's CPU."""
    if function not in _CALLS_A_FRAMEWORK:
        code = getattr(inspect.unwrap(function), "__code__", None) if function is not None else None
        _CALLS_A_FRAMEWORK[function] = code is not None and _names_a_framework(code)
    return _CALLS_A_FRAMEWORK[function]


def _names_a_framework(code) -> bool:
    return (not FRAMEWORK_NAMES.isdisjoint(code.co_names)
            or any(inspect.iscode(const) and _names_a_framework(const) for const in code.co_consts))


def pytest_collection_modifyitems(config, items):
    keep, dropped = [], []
    for item in items:
        if needs_frameworks(item):
            item.add_marker(pytest.mark.frameworks)
            dropped.append(item)
        else:
            keep.append(item)
    if config.getoption("--no-frameworks"):
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    if _distributed(config):
        # The long tests first: with --dist loadgroup (make check, make test), xdist deals
        # tests out one at a time as workers free up, so the long waits start first and the
        # short tests fill in around them; a long test dealt out last would be the run's
        # tail. Longest first by each test's wall time in the last run of this tier in this
        # checkout (pytest's cache, see pytest_sessionfinish); a test not timed yet (a
        # fresh clone: CI) by its kind: a group of tests that share a fixture (the fleet's
        # Ray cluster), then marked slow, then a framework's, those that wait on oracle
        # runs, the others. Every worker sorts alike (xdist requires the same order).
        last = _last_durations(config)
        seconds = {item: last.get(_timed_id(item), _estimate(item)) for item in items}
        group_of = {item: _group_of(item) for item in items}
        group_seconds = {}
        for item in items:
            group_seconds[group_of[item]] = group_seconds.get(group_of[item], 0.0) + seconds[item]
        items.sort(key=lambda item: -(group_seconds[group_of[item]] if group_of[item] else seconds[item]))


# What a test not timed yet is taken to last when its tests are ordered (seconds).
ESTIMATE_S = {"slow": 20.0, "frameworks": 8.0, "oracle": 5.0, "other": 0.5}
_TIMES = {}


def _distributed(config) -> bool:
    """Whether xdist runs the tests (the controlling process with -n N, or one of its workers)."""
    return hasattr(config, "workerinput") or bool(config.getoption("numprocesses", None))


def _durations_key(config) -> str:
    """pytest's cache: each test's wall time in the last distributed run of this tier (the
    fast tier's tests run forked commands, so their times are not make test's)."""
    return "edgemt/check-durations" if config.getoption("--no-frameworks") else "edgemt/test-durations"


def _estimate(item) -> float:
    return ESTIMATE_S["slow" if item.get_closest_marker("slow") else
                      "frameworks" if item.get_closest_marker("frameworks") else
                      "oracle" if "oracle_home" in getattr(item, "fixturenames", ()) else "other"]


def _group_of(item) -> str:
    """The item's xdist_group ("" for none): its tests run on one worker, one after another."""
    return "_".join(sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                            for m in item.iter_markers("xdist_group")}))


def _timed_id(item) -> str:
    """The test's id as xdist reports it: a test of an xdist_group gets "@GROUP"."""
    group = _group_of(item)
    suffix = "@" + group if group else ""
    return item.nodeid if not suffix or item.nodeid.endswith(suffix) else item.nodeid + suffix


def _last_durations(config) -> dict:
    """Read once, by the controlling process: xdist's workers get the same copy with their
    input (pytest_configure_node), so all of them sort their tests alike even if another
    run writes the cache meanwhile."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput.get("edgemt_durations", {})
    if not hasattr(config, "_edgemt_durations"):
        cache = getattr(config, "cache", None)
        config._edgemt_durations = cache.get(_durations_key(config), {}) if cache is not None else {}
    return config._edgemt_durations


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["edgemt_durations"] = _last_durations(node.config)


def pytest_runtest_logreport(report):
    # setup, call and teardown added up (a module's shared oracle runs are in its first
    # test's setup); in the controlling process, xdist hands it every worker's reports
    _TIMES[report.nodeid] = _TIMES.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    config = session.config
    cache = getattr(config, "cache", None)
    if not _distributed(config) or hasattr(config, "workerinput") or cache is None or not _TIMES:
        return
    durations = dict(cache.get(_durations_key(config), {}))
    durations.update({nodeid: round(seconds, 2) for nodeid, seconds in _TIMES.items()})
    cache.set(_durations_key(config), durations)


def pytest_collection_finish(session):
    # What the imports and the collection made (pytest, Textual, edgemt, the test modules:
    # most of a worker's heap, and none of it garbage) is left out of the collector's full
    # passes from here on: each one went through all of it, in every test that allocates
    # much (the Pilot tests) and five times at the end of every worker (pytest's
    # unraisable-exception cleanup: 2-7 s of each worker's exit in make check at load 10).
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    if item.config.getoption("--no-frameworks"):
        # In the fast tier, what a test leaves alive (the source checks' parsed trees kept
        # for the module's other tests, Textual's caches of widgets still referenced) joins
        # the frozen heap once the garbage is collected: each worker runs ~75 tests, and
        # every full pass of the collector, in later tests and five at the worker's exit
        # (0.5-0.9 s each over 250-300k objects left by the tests), walked all of it.
        gc.collect()
        gc.freeze()


@pytest.fixture(autouse=True)
def _framework_mark(request):
    """Lets require_env tell a test marked 'frameworks' from one that is not."""
    edgemt_testlib.FRAMEWORKS_MARKED = request.node.get_closest_marker("frameworks") is not None
    yield
    edgemt_testlib.FRAMEWORKS_MARKED = None


@pytest.fixture
def edgemt_home(tmp_path, monkeypatch):
    """A private config folder with [envs] naming the real interpreters, and a private DB.
    Prepared models stay in the real data folder (they are a cache)."""
    cfg_home = tmp_path / "config"
    (cfg_home / "edgemt").mkdir(parents=True)
    lines = ["[envs]"] + [f'{fw} = "{py}"' for fw, py in edgemt_testlib.REAL_ENVS.items()]
    (cfg_home / "edgemt" / "config.toml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg_home))
    monkeypatch.setenv("XDG_DATA_HOME", edgemt_testlib.REAL_DATA_HOME)
    monkeypatch.setenv("EDGEMT_DB", str(tmp_path / "edgemt.db"))
    return tmp_path


@pytest.fixture
def oracle_home(edgemt_home, monkeypatch):
    """edgemt_home whose [envs] run the oracle child (tests/oracle/oracle_child.py: batches
    of a known time, the real child protocol) for every framework; an OracleHome, see
    tests/oracle/oracle_env.py. Needs no framework environment."""
    from oracle.oracle_env import OracleHome

    monkeypatch.setenv("XDG_DATA_HOME", str(edgemt_home / "data"))
    return OracleHome(edgemt_home)
