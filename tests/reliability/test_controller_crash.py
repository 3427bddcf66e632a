"""Controller crash: SIGKILL of `edgemt run` mid-run.

The DB passes PRAGMA integrity_check, at most the last second of windows is missing,
no runner child is alive a few seconds later, and the next start of edgemt marks the run
`interrupted`; a run whose controller still lives is left alone. Children carry a higher
oom_score_adj than the controller, so the OOM killer takes a tenant, not the controller.
(tests/functional/test_run_cli.py already checks that children die with a killed
controller and that export marks the run; this file adds the figures.)"""
import signal
import time

from edgemt_testlib import require_env, run_edgemt
from reliability_lib import alive, oom_score_adj, rows, start_run, wait_for, wait_windows

WINDOW = 0.5


def test_sigkill_of_controller_loses_at_most_the_last_second(edgemt_home):
    require_env("tflite")
    db = edgemt_home / "edgemt.db"
    p = start_run(db, window=str(WINDOW))
    try:
        pids = wait_windows(db, per_tenant=4)
        assert len(pids) == 2 and all(alive(x) for x in pids)
        time.sleep(1.3)  # mid-window, mid-commit-interval: not aligned with either
        kill_mono = time.monotonic()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        wait_for(lambda: not any(alive(x) for x in pids), timeout=10, what="runner children gone")
    finally:
        p.kill()
        p.communicate()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    (t0,), = rows(db, "SELECT t0_monotonic FROM runs")
    kill_t = kill_mono - t0  # the kill time on the run's clock (CLOCK_MONOTONIC is system-wide)
    per_tenant = rows(db, "SELECT tenant, MIN(t_start), MAX(t_end), COUNT(*) FROM windows GROUP BY tenant")
    assert len(per_tenant) == 3
    for tenant, first, last, n in per_tenant:
        # Every window that ended more than a second before the kill is stored ...
        assert last >= kill_t - 1.0 - WINDOW, (tenant, last, kill_t)
        assert last <= kill_t + 1e-6
        # ... and none is missing in between: the stored windows are contiguous.
        assert abs((last - first) / WINDOW - n) < 1e-3, (tenant, first, last, n)
    assert rows(db, "SELECT status FROM runs") == [("running",)]
    run_edgemt("export", "--out", str(edgemt_home / "after.csv"), check=0)  # any next start
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(db, "SELECT COUNT(*) FROM tenants WHERE status IN ('starting', 'running', 'paused')") == [(0,)]


def test_a_run_whose_controller_lives_is_left_alone_and_children_are_oom_victims_first(edgemt_home):
    require_env("tflite")
    require_env("torch")
    db = edgemt_home / "edgemt.db"
    tenants = ["--tenant", "mobilenet_v2,framework=tflite,count=2,threads=1", "--tenant", "squeezenet1_0,threads=1"]
    # Long enough that the run is still going while the second edgemt starts, even on a
    # loaded machine (at 6 s the run could end before the export looked at it).
    p = start_run(db, tenants=tenants, duration="25")
    try:
        pids = wait_windows(db, per_tenant=1, tenants=3)
        # Memory pressure: the OOM killer picks the highest oom_score; children are the first victims.
        controller = oom_score_adj(p.pid)
        for pid in pids:
            assert oom_score_adj(pid) > controller, (pid, oom_score_adj(pid), controller)
        assert oom_score_adj(pid) >= 500
        # Another edgemt start while the run goes on: it must not mark the live run.
        run_edgemt("export", "--out", str(edgemt_home / "during.csv"), check=0)
        assert rows(db, "SELECT status FROM runs") == [("running",)]
        out, err = p.communicate(timeout=240)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert rows(db, "SELECT status FROM runs") == [("done",)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
