"""Lost terminal: the SSH link drops, the terminal's session gets SIGHUP (the kernel sends
it to the foreground process group), or the user presses Ctrl-C (SIGINT to the group).

`edgemt run` stops cleanly: every tenant `stopped` (none failed: the runner children are
in their own session, so the signal reaches only the controller), the run `interrupted`,
the DB flushed (the windows stored = the images the run reported), exit 0, no runner
child left. SIGHUP to the controller alone behaves the same."""
import json
import os
import signal

import pytest

from edgemt_testlib import require_env
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
    assert p.returncode == 0, err
    assert "Traceback" not in err
    result = json.loads(out)
    assert result["stopped_by"] == "stopped"
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
