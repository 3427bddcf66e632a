"""Helpers shared by the test modules (importable as `edgemt_testlib`: pytest puts tests/ on sys.path)."""
import locale
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
EDGEMT = str(VENV_BIN / "edgemt")


def _real_envs() -> dict:
    # Resolved once, before any test changes XDG folders.
    from runners import environments

    found = {}
    for fw in ("torch", "tflite", "tensorflow", "mxnet", "onnxruntime"):
        choice = environments.find_python(fw)
        if choice is not None:
            found[fw] = choice.python
    return found


REAL_ENVS = _real_envs()
REAL_DATA_HOME = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local/share")
# Whether the running test is marked 'frameworks' (set by tests/conftest.py; None outside a test).
FRAMEWORKS_MARKED = None


def check_marked(what: str):
    if FRAMEWORKS_MARKED is False:
        pytest.fail(f"{what} reaches a framework environment: mark the test 'frameworks' "
                    "(tests/conftest.py) so `make check` leaves it to `make test`")


def require_env(framework: str) -> str:
    """The interpreter of a framework environment; `make test` creates all four, so a
    missing one is a setup failure, not a skip."""
    check_marked(f"require_env({framework!r})")
    if framework not in REAL_ENVS:
        pytest.fail(f"no {framework} environment: run 'make test' (it runs 'edgemt env create {framework}')")
    return REAL_ENVS[framework]



def ensure_tflite_model(name: str = "mobilenet_v2") -> Path:
    """The full-int8 TFLite model of ``name``: `make test` prepares it; this keeps a lone
    test run working (it prepares it in the tensorflow environment)."""
    from runners import paths

    check_marked(f"ensure_tflite_model({name!r})")
    path = paths.models_dir() / "tflite" / f"{name}_int8.tflite"
    if not path.exists():
        subprocess.run([EDGEMT, "models", "prepare", "tflite", name], check=True, capture_output=True)
    return path


def ensure_onnx_models(names, precision: str = "fp32") -> Path:
    """The models folder holding the ONNX files of ``names`` (``<model>_<precision>.onnx``):
    `make test` prepares them; this keeps a lone test run working (exported in the torch
    environment, quantised in the onnxruntime one, cached in the real data folder)."""
    models = Path(REAL_DATA_HOME) / "edgemt" / "models"
    missing = [n for n in names if not (models / "onnx" / f"{n}_{precision}.onnx").exists()]
    if missing:
        env = {**os.environ, "XDG_DATA_HOME": REAL_DATA_HOME}
        env.pop("XDG_CONFIG_HOME", None)
        subprocess.run([EDGEMT, "models", "prepare", "onnx", "--precision", precision, *missing], check=True,
                       capture_output=True, env=env)
    return models


# Set by tests/conftest.py in the fast tier (`make check`): run_edgemt forks each command
# from a zygote (tests/edgemt_zygote.py) instead of starting `edgemt`. The oracle tests run
# ~100 commands there, and an interpreter start with edgemt's imports is ~0.2 s of CPU of
# each (half of a short oracle run's controller). `make test` starts the real `edgemt`.
ZYGOTE_RUNS = False
_zygote = None


def the_zygote():
    """This process's zygote (tests/edgemt_zygote.py), started on first use."""
    global _zygote
    if _zygote is None:
        from edgemt_zygote import Zygote

        _zygote = Zygote()
    return _zygote


def close_zygote():
    """Ends this process's zygote, if it started one (and waits for it, so that the CPU of
    the commands it ran counts as this process's children's)."""
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def _python_vars(env) -> dict:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


def _text(data: bytes) -> str:
    # as subprocess's text=True: the locale's encoding, universal newlines
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def run_edgemt(*args, timeout=300, check=None, **kw):
    """Runs the `edgemt` command (in the fast tier, a fork of the zygote with stdin
    /dev/null: see ZYGOTE_RUNS); returns CompletedProcess with text output."""
    env = kw.get("env") or os.environ
    if ZYGOTE_RUNS and set(kw) <= {"cwd", "env"} and _python_vars(env) == _python_vars(the_zygote().env):
        # (an interpreter's PYTHON* variables, e.g. a PYTHONPATH with a fake module, act at
        # its start: a command given other ones is started as `edgemt`)
        code, out, err = the_zygote().run(list(args), env, timeout=timeout, cwd=kw.get("cwd"))
        proc = subprocess.CompletedProcess([EDGEMT, *args], code, _text(out), _text(err))
    else:
        proc = subprocess.run([EDGEMT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, **kw)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def pid_alive(pid) -> bool:
    """Whether a process is running or sleeping (a zombie is dead for our purpose)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def query_ro(db, sql, args=()) -> list:
    """The rows of one query on DB, opened read-only (a test never changes what it checks)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
