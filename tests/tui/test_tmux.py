"""The real ``edgemt`` command in a real terminal (tmux): start, add a group, step it, quit;
and a lost terminal (the tmux session killed: SIGHUP) stopping the run cleanly."""
import os
import re
import shutil
import sqlite3
import time

import pytest

from tui_helpers import REPO_EDGEMT, pane, tmux, wait_pane

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux missing: 'make test' installs it (system-deps)")]


def wait_re(name, pattern, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if re.search(pattern, pane(name)):
            return
        time.sleep(0.3)
    raise AssertionError(f"{pattern!r} did not appear in {timeout} s; the pane shows:\n{pane(name)}")


def run_row(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")], \
            [dict(r) for r in conn.execute("SELECT * FROM tenants ORDER BY id")]
    finally:
        conn.close()


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] == "Z"


@pytest.fixture
def session_name(edgemt_home):
    name = f"edgemt-test-{os.getpid()}"
    yield name
    tmux("kill-session", "-t", name, check=False)


def start(name, edgemt_home, *extra):
    env = " ".join(f"{k}={os.environ[k]}" for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "EDGEMT_DB"))
    cmd = f"env {env} TERM=xterm-256color {REPO_EDGEMT} --new {' '.join(extra)}; echo EDGEMT-EXIT=$?; sleep 60"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", cmd)


def test_edgemt_in_tmux_start_add_step_quit(session_name, edgemt_home):
    db = os.environ["EDGEMT_DB"]
    start(session_name, edgemt_home)
    wait_pane(session_name, "run 1", 60)
    tmux("send-keys", "-t", session_name, "a")
    wait_pane(session_name, "Add a group", 20)
    tmux("send-keys", "-t", session_name, "Enter")  # the defaults: mobilenet_v2 on torch@cpu
    wait_pane(session_name, "mobilenet_v2", 60)
    wait_pane(session_name, "running", 120)
    tmux("send-keys", "-t", session_name, "+")
    wait_pane(session_name, "stepped 1 -> 2", 60)
    # both tenants warm before quitting: a tenant still importing torch cannot answer 'stop'
    wait_re(session_name, r"proc\s+2\s+running", 180)
    tmux("send-keys", "-t", session_name, "q")
    wait_pane(session_name, "EDGEMT-EXIT=0", 60)
    runs, tenants = run_row(db)
    assert runs[-1]["status"] == "done" and runs[-1]["kind"] == "ui"
    assert len(tenants) == 2 and all(t["status"] == "stopped" for t in tenants)
    assert all(gone(t["runner_pid"]) for t in tenants)


def test_lost_terminal_stops_the_run_cleanly(session_name, edgemt_home):
    db = os.environ["EDGEMT_DB"]
    start(session_name, edgemt_home)
    wait_pane(session_name, "run 1", 60)
    tmux("send-keys", "-t", session_name, "a")
    wait_pane(session_name, "Add a group", 20)
    tmux("send-keys", "-t", session_name, "Enter")
    wait_pane(session_name, "running", 120)
    tmux("kill-session", "-t", session_name)  # the terminal goes away: SIGHUP
    end = time.monotonic() + 60
    while time.monotonic() < end:
        runs, tenants = run_row(db)
        if runs[-1]["status"] != "running":
            break
        time.sleep(0.5)
    assert runs[-1]["status"] == "interrupted", runs[-1]
    assert tenants and all(t["status"] == "stopped" for t in tenants)
    time.sleep(1)
    assert all(gone(t["runner_pid"]) for t in tenants)
