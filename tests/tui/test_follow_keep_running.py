"""A run that outlives its terminal and a second UI on a run in progress, with the real
`edgemt` in a real terminal (tmux) and busy tflite tenants:

- `edgemt --keep-running`: SIGHUP (the terminal killed) leaves the run going headless, its
  tenants still writing windows; SIGTERM then closes it (run done, tenants stopped, no
  runner child left);
- started while a run is in progress, `edgemt` lists it and asks; `n` starts a new run,
  enter follows the running one, read-only from the DB;
- `edgemt --follow RUN` shows the followed run's tenants; its keys change nothing."""
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from edgemt_testlib import EDGEMT, ensure_tflite_model, require_env, pid_alive as alive
from tui_helpers import REPO_EDGEMT, pane, tmux, wait_pane

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux missing: 'make test' installs it (system-deps)")]

TFLITE = "mobilenet_v2,framework=tflite,count=2,threads=1"


def rows(db, sql, args=()):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def wait_for(pred, timeout=120, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except sqlite3.Error:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what} not reached in {timeout} s")


def windows(db, run):
    return rows(db, "SELECT COUNT(*) n FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ?",
                (run,))[0]["n"]


def stop_leftover_controllers(db):
    """A UI started with --keep-running outlives its tmux session (that is the feature): when a
    test fails half-way, its controller must not go on loading the machine after the test."""
    try:
        pids = [r["controller_pid"] for r in rows(db, "SELECT controller_pid FROM runs")]
    except sqlite3.Error:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"edgemt" not in f.read():
                    continue
            os.kill(pid, signal.SIGTERM)
        except (OSError, TypeError):
            continue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.2)
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def tmux_name(edgemt_home):
    name = f"edgemt-follow-{os.getpid()}"
    yield name
    for n in (name, name + "-2"):
        tmux("kill-session", "-t", n, check=False)
    stop_leftover_controllers(os.environ["EDGEMT_DB"])


def start_ui(name, *args):
    env = " ".join(f"{k}={os.environ[k]}" for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "EDGEMT_DB"))
    cmd = f"env {env} TERM=xterm-256color {REPO_EDGEMT} {' '.join(args)}; echo EDGEMT-EXIT=$?; sleep 60"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", cmd)


@pytest.fixture
def headless_run(edgemt_home):
    """`edgemt run` with two busy tflite tenants (0.5 s windows), warm before the test goes on."""
    require_env("tflite")
    ensure_tflite_model()
    db = os.environ["EDGEMT_DB"]
    p = subprocess.Popen([EDGEMT, "run", "--tenant", TFLITE, "--duration", "300", "--window", "0.5", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(lambda: windows(db, 1) >= 4, 180, "the headless run's first windows")
        yield p
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()


def test_keep_running_goes_on_headless_after_sighup_until_sigterm(tmux_name, edgemt_home):
    db = os.environ["EDGEMT_DB"]
    start_ui(tmux_name, "--new", "--keep-running")
    wait_pane(tmux_name, "run 1", 60)
    tmux("send-keys", "-t", tmux_name, "a")
    wait_pane(tmux_name, "Add a group", 20)
    tmux("send-keys", "-t", tmux_name, "Enter")  # the defaults: mobilenet_v2 on torch@cpu
    wait_for(lambda: windows(db, 1) >= 2, 180, "windows of the tenant")
    controller = rows(db, "SELECT controller_pid FROM runs WHERE id = 1")[0]["controller_pid"]
    tmux("kill-session", "-t", tmux_name)  # the terminal goes away: SIGHUP
    wait_for(lambda: rows(db, "SELECT COUNT(*) n FROM events WHERE kind = 'detached'")[0]["n"] >= 1, 30,
             "the detached event")
    before = windows(db, 1)
    time.sleep(4)
    # headless: the controller lives on, the run is still running, the tenant still measures
    assert alive(controller)
    assert rows(db, "SELECT status FROM runs WHERE id = 1")[0]["status"] == "running"
    assert windows(db, 1) > before
    tenants = rows(db, "SELECT * FROM tenants WHERE run = 1")
    assert tenants and all(t["status"] == "running" for t in tenants)
    os.kill(controller, signal.SIGTERM)
    wait_for(lambda: rows(db, "SELECT status FROM runs WHERE id = 1")[0]["status"] != "running", 60,
             "the run to end after SIGTERM")
    assert rows(db, "SELECT status FROM runs WHERE id = 1")[0]["status"] == "done"
    tenants = rows(db, "SELECT * FROM tenants WHERE run = 1")
    assert all(t["status"] == "stopped" for t in tenants), [t["status"] for t in tenants]
    assert rows(db, "SELECT COUNT(*) n FROM events WHERE kind = 'failed'")[0]["n"] == 0
    wait_for(lambda: not alive(controller) and not any(alive(t["runner_pid"]) for t in tenants), 20,
             "no process left")


def test_follow_shows_a_run_in_progress_read_only(tmux_name, headless_run):
    db = os.environ["EDGEMT_DB"]
    start_ui(tmux_name, "--follow", "1")
    wait_pane(tmux_name, "run 1 (follow)", 60)
    wait_pane(tmux_name, "tflite@cpu", 30)
    wait_pane(tmux_name, "running", 30)
    assert "mobilenet_v2" in pane(tmux_name)
    before = windows(db, 1)
    tmux("send-keys", "-t", tmux_name, "+", "d", "p")  # commands need a live run: nothing changes
    time.sleep(2)
    tmux("send-keys", "-t", tmux_name, "q")
    wait_pane(tmux_name, "EDGEMT-EXIT=0", 30)
    # the followed run went on, untouched: same tenants, no new events from the follower
    assert headless_run.poll() is None
    assert rows(db, "SELECT status FROM runs WHERE id = 1")[0]["status"] == "running"
    assert len(rows(db, "SELECT id FROM tenants WHERE run = 1")) == 2
    assert rows(db, "SELECT COUNT(*) n FROM events WHERE kind = 'stepped'")[0]["n"] == 0
    assert windows(db, 1) > before
    assert len(rows(db, "SELECT id FROM runs")) == 1  # following makes no run


def test_runs_in_progress_prompt_new_or_follow(tmux_name, headless_run):
    db = os.environ["EDGEMT_DB"]
    start_ui(tmux_name)  # no --new: it asks
    wait_pane(tmux_name, "runs in progress in this DB:", 30)
    wait_pane(tmux_name, "follow which run? [1; n = start a new run]", 10)
    assert "run 1 (run," in pane(tmux_name)
    tmux("send-keys", "-t", tmux_name, "n", "Enter")
    wait_pane(tmux_name, "run 2", 60)  # a new run of its own
    tmux("send-keys", "-t", tmux_name, "q")
    wait_pane(tmux_name, "EDGEMT-EXIT=0", 60)
    assert rows(db, "SELECT status FROM runs WHERE id = 2")[0]["status"] == "done"
    second = tmux_name + "-2"

    start_ui(second)
    wait_pane(second, "follow which run? [1; n = start a new run]", 30)
    assert "run 2 (" not in pane(second)  # a finished run is not offered
    tmux("send-keys", "-t", second, "Enter")  # the default: follow run 1
    wait_pane(second, "run 1 (follow)", 60)
    wait_pane(second, "tflite@cpu", 30)
    tmux("send-keys", "-t", second, "q")
    wait_pane(second, "EDGEMT-EXIT=0", 30)
    assert rows(db, "SELECT status FROM runs WHERE id = 1")[0]["status"] == "running"
    assert len(rows(db, "SELECT id FROM runs")) == 2
