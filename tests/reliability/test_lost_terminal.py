"""Lost terminal: the SSH link drops, the terminal's session gets SIGHUP (the kernel sends
it to the foreground process group), or the user presses Ctrl-C (SIGINT to the group).

`edgemt run` stops cleanly: every tenant `stopped` (none failed: the runner children are
in their own session, so the signal reaches only the controller), the run `interrupted`,
the DB flushed (the windows stored = the images the run reported), exit 130 (stopped by
the user, docs/cli.md) with one line on stderr naming the signal, no runner child left. SIGHUP to the controller alone behaves the same. The UI with --keep-running
goes on headless when its terminal goes, until SIGTERM."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from edgemt_testlib import EDGEMT, require_env
from reliability_lib import alive, rows, start_run, wait_for, wait_windows


@pytest.mark.parametrize("how", ["hangup-group", "hangup-controller", "ctrl-c-group"])
def test_lost_terminal_stops_cleanly(edgemt_home, how):
    require_env("tflite")
    db = edgemt_home / "edgemt.db"
    p = start_run(db)
    try:
        pids = wait_windows(db, per_tenant=2)
        sig = signal.SIGINT if how.startswith("ctrl-c") else signal.SIGHUP
        if how.endswith("group"):
            os.killpg(p.pid, sig)  # start_run made the controller a process group leader
        else:
            p.send_signal(sig)
        out, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err
    name = "SIGINT (Ctrl-C)" if how.startswith("ctrl-c") else "SIGHUP (terminal lost)"
    assert err.strip().splitlines() == [err.strip().splitlines()[0]]
    assert err.startswith(f"edgemt: stopped by {name} after ") and "is stored as interrupted" in err, err
    result = json.loads(out)
    assert result["stopped_by"] == "stopped" and result["signal"] == name.split()[0]
    assert result["measured_s"] >= 0
    assert {t["status"] for t in result["tenants"]} == {"ok"}
    wait_for(lambda: not any(alive(x) for x in pids), timeout=10, what="runner children gone")
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(db, "SELECT status, COUNT(*) FROM tenants GROUP BY status") == [("stopped", 3)]
    assert rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'failed'") == [(0,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    # Flushed: the images of the measured phase the run reported are all in the DB.
    for t in result["tenants"]:
        (stored,), = rows(db, "SELECT COALESCE(SUM(images), 0) FROM windows WHERE tenant = ?", (t["id"],))
        assert t["images"] > 0 and stored >= t["images"], t


def _tmux(*args, check=True):
    return subprocess.run(["tmux", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def _wait_pane(name, text, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in _tmux("capture-pane", "-p", "-t", name, check=False).stdout:
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not on the screen in {timeout} s:\n"
                         + _tmux("capture-pane", "-p", "-t", name, check=False).stdout)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing: 'make test' installs it (system-deps)")
def test_keep_running_survives_the_terminal_then_stops_on_sigterm(edgemt_home):
    """The UI with --keep-running in a real terminal (tmux): the terminal goes (SIGHUP to its
    process group), the run and its children go on recording headless; SIGTERM then stops
    it cleanly."""
    require_env("torch")
    db = str(edgemt_home / "edgemt.db")
    name = f"edgemt-rel-{os.getpid()}"
    env = " ".join(f"{k}={os.environ[k]}" for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "EDGEMT_DB"))
    _tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36",
          f"env {env} TERM=xterm-256color {EDGEMT} --new --keep-running; sleep 60")
    try:
        _wait_pane(name, "run 1", 60)
        _tmux("send-keys", "-t", name, "a")
        _wait_pane(name, "Add a group", 20)
        _tmux("send-keys", "-t", name, "Enter")
        pids = wait_windows(db, per_tenant=2, tenants=1)
        (controller,), = rows(db, "SELECT controller_pid FROM runs")
    finally:
        _tmux("kill-session", "-t", name, check=False)  # the terminal goes away
    try:
        (before,), = rows(db, "SELECT COUNT(*) FROM windows")
        wait_for(lambda: rows(db, "SELECT COUNT(*) FROM windows")[0][0] >= before + 4, timeout=60,
                 what="windows recorded after the terminal went")
        assert alive(controller) and all(alive(p) for p in pids)
        assert rows(db, "SELECT status FROM runs") == [("running",)]
        assert rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'failed'") == [(0,)]
        os.kill(controller, signal.SIGTERM)
        wait_for(lambda: not alive(controller), timeout=60, what="controller exit after SIGTERM")
    finally:
        if alive(controller):
            os.kill(controller, signal.SIGKILL)
    wait_for(lambda: not any(alive(p) for p in pids), timeout=10, what="runner children gone")
    assert rows(db, "SELECT status FROM runs")[0][0] in ("done", "interrupted")
    assert {r[0] for r in rows(db, "SELECT status FROM tenants")} == {"stopped"}
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
