"""`edgemt run` with real torch children on the CPU."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from edgemt_testlib import EDGEMT, require_env, run_edgemt, pid_alive as _alive


def _db_rows(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def _wait_for(pred, timeout=120, every=0.25):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize("isolation", ["process", "thread"])
def test_two_tenants_each_isolation(edgemt_home, isolation):
    require_env("torch")
    db = edgemt_home / "edgemt.db"
    proc = run_edgemt("run", "--tenant", f"mobilenet_v2,count=2,isolation={isolation},threads=1",
                      "--duration", "2", "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    assert out["db"] == str(db) and len(out["tenants"]) == 2
    for t in out["tenants"]:
        assert t["status"] == "ok" and t["isolation"] == isolation
        assert t["images"] > 0 and t["throughput"] > 0 and t["latency_ms"]["p50"] > 0
    assert out["total_throughput"] > 0 and set(out["placements"]) == {"torch@cpu"}
    pids = {r[0] for r in _db_rows(db, "SELECT runner_pid FROM tenants")}
    assert len(pids) == (2 if isolation == "process" else 1)
    n = _db_rows(db, "SELECT COUNT(*) FROM windows w JOIN tenants t ON t.id = w.tenant WHERE w.images > 0")[0][0]
    assert n >= 4
    assert _db_rows(db, "SELECT status FROM runs") == [("done",)]
    assert _db_rows(db, "SELECT COUNT(*) FROM samples")[0][0] > 0
    # Export the default timeline and read it back.
    csv_path = edgemt_home / "t.csv"
    run_edgemt("export", "--out", str(csv_path), check=0)
    import csv
    rows = list(csv.DictReader(open(csv_path)))
    assert rows and rows[0]["model"] == "mobilenet_v2" and float(rows[0]["t_end"]) > float(rows[0]["t_start"])
    assert sum(int(r["images"]) for r in rows) >= sum(t["images"] for t in out["tenants"])


def test_killed_child_fails_its_tenant_only(edgemt_home):
    require_env("torch")
    db = str(edgemt_home / "edgemt.db")
    p = subprocess.Popen([EDGEMT, "run", "--tenant", "mobilenet_v2,threads=1", "--tenant", "squeezenet1_0,threads=1",
                          "--duration", "8", "--window", "0.5", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        def both_reporting():
            if not os.path.exists(db):
                return None
            try:
                return len(_db_rows(db, "SELECT DISTINCT tenant FROM windows")) == 2
            except sqlite3.OperationalError:
                return None
        _wait_for(both_reporting)
        pid = _db_rows(db, "SELECT runner_pid FROM tenants WHERE group_id = 1")[0][0]
        os.kill(pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 3
    result = json.loads(out)
    by_group = {t["group"]: t for t in result["tenants"]}
    assert by_group[1]["status"] == "failed" and "SIGKILL" in by_group[1]["error"]
    assert by_group[2]["status"] == "ok" and by_group[2]["images"] > 0
    ev = _db_rows(db, "SELECT kind, detail FROM events WHERE kind = 'failed'")
    assert len(ev) == 1 and "SIGKILL" in json.loads(ev[0][1])["reason"]
    # the other group went on reporting after the kill
    last = _db_rows(db, "SELECT MAX(t_end) FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.group_id = 2")[0][0]
    first_fail = _db_rows(db, "SELECT t FROM events WHERE kind = 'failed'")[0][0]
    assert last > first_fail + 1.0
    assert _db_rows(db, "SELECT status FROM tenants WHERE group_id = 1") == [("failed",)]



def test_no_child_outlives_a_killed_controller_and_run_becomes_interrupted(edgemt_home):
    require_env("torch")
    db = str(edgemt_home / "edgemt.db")
    p = subprocess.Popen([EDGEMT, "run", "--tenant", "mobilenet_v2,count=2,threads=1", "--duration", "60",
                          "--window", "0.5"], stdout=subprocess.DEVNULL)
    try:
        def reporting():
            try:  # the file exists a moment before its tables do
                return os.path.exists(db) and _db_rows(db, "SELECT COUNT(*) FROM windows")[0][0] > 0
            except sqlite3.OperationalError:
                return False
        _wait_for(reporting)
        pids = [r[0] for r in _db_rows(db, "SELECT runner_pid FROM tenants")]
        assert all(_alive(x) for x in pids)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        _wait_for(lambda: not any(_alive(x) for x in pids), timeout=10)
    finally:
        p.kill()
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("SELECT status FROM runs").fetchall() == [("running",)]
    c.close()
    run_edgemt("export", "--out", str(edgemt_home / "x.csv"), check=0)  # the next start marks it
    assert _db_rows(db, "SELECT status FROM runs") == [("interrupted",)]
