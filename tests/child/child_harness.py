"""Helpers to run real runner children: start one with a framework's python, talk JSON lines."""
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

import edgemt_testlib
from runners.child import wire

ROOT = Path(__file__).resolve().parents[2]
CHILD_DIR = ROOT / "runners" / "child"
IMAGES = ROOT / "tests" / "data" / "images"
TEST_MODELS = Path(os.environ.get("EDGEMT_TEST_MODELS", Path.home() / ".cache" / "edgemt-test-models"))


def python_for(framework):
    """The framework environment's interpreter. `make test` creates all four, so a missing
    one is a setup failure, not a skip (as in tests/conftest.py)."""
    from runners.environments import find_python

    edgemt_testlib.check_marked(f"python_for({framework!r})")
    if framework not in _FOUND:
        _FOUND[framework] = find_python(framework)
    choice = _FOUND[framework]
    if choice is None or not Path(choice.python).exists():
        pytest.fail(f"no {framework} environment: run 'edgemt env create {framework}'")
    return choice.python


_FOUND = {}


def run_in_env(framework, code, timeout=120):
    """Runs python code in a framework environment with runners/child importable; its stdout."""
    proc = subprocess.run(
        [python_for(framework), "-c", f"import sys; sys.path.insert(0, {str(CHILD_DIR)!r})\n" + code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


class Child:
    """A runner child process; every stdout line is checked to be protocol JSON."""

    def __init__(self, framework, *args, python=None, env=None):
        self.framework = framework
        self.python = python or python_for(framework)
        argv = [self.python, "-u", str(CHILD_DIR)]
        if framework:
            argv += ["--framework", framework]
        argv += list(args)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=None if env is None else {**os.environ, **env},
        )
        self.events = []  # every event read so far
        self.bad_lines = []  # stdout lines that are not protocol JSON
        self.stderr_lines = []
        self._q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
                assert isinstance(obj, dict) and "ev" in obj
            except (ValueError, AssertionError):
                self.bad_lines.append(line)
                continue
            if obj["ev"] == "windows":  # a reporter pass's windows: one window event each
                for w in wire.unpack_windows(obj):
                    self._q.put(dict(w, ev="window"))
                continue
            self._q.put(obj)
        self._q.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def start(self, tenant, **spec):
        spec.setdefault("framework", self.framework)
        spec.setdefault("resource", "cpu")
        spec.setdefault("batch", 1)
        spec.setdefault("window_s", 0.5)
        self.send(cmd="start", tenant=tenant, spec=spec)

    def next_event(self, timeout):
        try:
            ev = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        if ev is not None:
            self.events.append(ev)
        return ev

    def wait_for(self, pred, timeout=180, what="event"):
        """The first new event matching pred; fails (with the child's stderr) on timeout or exit."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"timed out waiting for {what}")
            ev = self.next_event(left)
            if ev is None:
                if self.proc.poll() is not None and self._q.empty():
                    self.fail(f"child exited ({self.proc.returncode}) while waiting for {what}")
                continue
            if pred(ev):
                return ev

    def wait_ev(self, ev, tenant=None, timeout=180, **match):
        def pred(e):
            if e["ev"] == "failed" and e.get("tenant") == tenant and ev != "failed":
                self.fail(f"tenant {tenant} failed: {e['reason']}")
            return e["ev"] == ev and (tenant is None or e.get("tenant") == tenant) and all(
                e.get(k) == v for k, v in match.items()
            )

        return self.wait_for(pred, timeout, what=f"{ev} of {tenant}")

    def windows(self, tenant, n, timeout=120, pred=lambda w: True):
        out = []
        while len(out) < n:
            w = self.wait_ev("window", tenant, timeout)
            if pred(w):
                out.append(w)
        return out

    def collect(self, seconds):
        """All events arriving during the next `seconds`."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            ev = self.next_event(left)
            if ev is not None:
                out.append(ev)

    def fail(self, msg):
        self.kill()
        pytest.fail(f"{msg}; stderr tail:\n{''.join(self.stderr_lines[-40:])}")

    def close(self, timeout=20):
        if self.proc.poll() is None:
            try:
                self.send(cmd="stop")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def child_factory():
    made = []

    def make(framework, *args, **kw):
        c = Child(framework, *args, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close(timeout=10)
        c.kill()
        assert not c.bad_lines, f"non-protocol stdout lines: {c.bad_lines[:5]}"


def prepare_tflite(models, out, timeout=600):
    """Runs prepare_tflite.py with the tensorflow environment; its stdout (JSON lines)."""
    proc = subprocess.run(
        [python_for("tensorflow"), str(CHILD_DIR / "prepare_tflite.py"), "--out", str(out), *models],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
