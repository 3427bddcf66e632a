"""Stopping is not failing (issue 13). When the run ends, a runner that does not answer
'stop' within the grace is killed; its tenants are recorded

- ``stopped`` when they were still loading their model (a child importing its framework
  cannot answer 'stop' yet), or healthy until the run ended (reporting within the hang
  limit): a runner slow to stop thousands of tenants is not a failure;
- ``failed`` only when they were already hung: silent past the hang limit when the run
  ended.

The grace and every forced stop, with its reason, are events.

The runner children here are stand-ins (a small script given as the framework's
interpreter) that read the start command and then ignore stdin, so the timing does not
depend on how fast a real framework imports on a loaded machine."""
import asyncio
import json
import sqlite3
import sys
import time

import pytest

from runners.spec import parse_spec
from runners.supervisor import Supervisor
from storage.store import Store
from edgemt_testlib import pid_alive as alive

STANDIN = """#!{python}
import json, sys, time
line = sys.stdin.readline()  # the start command
start = json.loads(line)
tenant, spec = start["tenant"], start["spec"]
if "{kind}" != "still-loading":
    print(json.dumps({{"ev": "warm", "tenant": tenant, "warmup_batches": 0, "t": time.monotonic()}}), flush=True)
if "{kind}" == "reporting":  # one window a window_s, never reads 'stop'
    k = int((time.monotonic() - spec["epoch"]) / spec["window_s"]) + 1
    while True:
        t1 = spec["epoch"] + (k + 1) * spec["window_s"]
        time.sleep(max(0.0, t1 - time.monotonic()))
        print(json.dumps({{"ev": "window", "tenant": tenant, "t0": t1 - spec["window_s"], "t1": t1, "images": 3,
                          "batches": 3, "batch": 1, "hist": {{}}}}), flush=True)
        k += 1
elif "{kind}" == "silent":  # hung in a busy loop: the watchdog would wait (still using CPU)
    # a fifth of a core (20 ms of every 100), not a whole one: the watchdog sees CPU progress
    # (its clock ticks are 10 ms) at every look, and two of these no longer take the CPU
    # of a 2-core test machine for 3 s
    while True:
        busy_until = time.process_time() + 0.02
        while time.process_time() < busy_until:
            pass
        time.sleep(0.08)
time.sleep(120)  # 'loading': never reads 'stop'
"""


def standin(tmp_path, kind: str):
    path = tmp_path / kind
    path.write_text(STANDIN.format(python=sys.executable, kind=kind))
    path.chmod(0o755)
    return str(path)


def rows(db, sql):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("kind, expected", [("still-loading", "stopped"), ("reporting", "stopped"),
                                            ("silent", "failed")])
async def test_shutdown_kills_an_unanswering_runner(tmp_path, kind, expected):
    db = tmp_path / "s.db"
    store = Store(db)
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    python = standin(tmp_path, kind)
    # 'silent': a hang limit of 2 x 0.5 + 0.5 = 1.5 s, passed before the run ends
    sup = Supervisor(store, run_id, python_for=lambda fw: python, window_s=0.5,
                     hang_windows=2 if kind == "silent" else 10_000, logs_dir=tmp_path / "logs")
    group = await sup.add_group(parse_spec("mobilenet_v2,count=2"))
    tenants = list(group.tenants)
    pids = [t.runner.pid for t in tenants]
    if kind == "still-loading":
        await asyncio.sleep(0.3)
        assert all(t.status == "starting" for t in tenants)
    else:
        end = time.monotonic() + 30
        while any(t.status != "running" for t in tenants) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        assert all(t.status == "running" for t in tenants)
    if kind == "reporting":
        end = time.monotonic() + 30
        while any(t.n_windows < 2 for t in tenants) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        assert all(t.n_windows >= 2 for t in tenants)
    if kind == "silent":
        await asyncio.sleep(2.5)
    await sup.shutdown(timeout=0.5)
    store.end_run(run_id, "done")
    store.close()

    assert [t.status for t in tenants] == [expected] * 2
    assert rows(db, "SELECT status FROM tenants ORDER BY id") == [(expected,)] * 2
    failed = [json.loads(d) for (d,) in rows(db, "SELECT detail FROM events WHERE kind = 'failed'")]
    if expected == "failed":
        assert len(failed) == 2 and all("hung" in f["reason"] for f in failed), failed
    else:
        assert failed == [] and all(t.error is None for t in tenants)
    stopping = [json.loads(d) for (d,) in rows(db, "SELECT detail FROM events WHERE kind = 'stopping'")]
    if kind != "silent" or stopping:  # 'silent' may already have been stopped by the watchdog
        assert stopping and stopping[0]["grace_s"] == 0.5 and stopping[0]["tenants"] == 2
    if kind != "silent":
        forced = [json.loads(d) for (d,) in rows(db, "SELECT detail FROM events WHERE kind = 'stop_forced'")]
        assert len(forced) == 2 and all(f["grace_s"] == 0.5 and "grace" in f["reason"] for f in forced), forced
    assert not any(alive(p) for p in pids)


def test_grace_scales_with_the_tenants(tmp_path):
    store = Store(tmp_path / "g.db")
    try:
        sup = Supervisor(store, store.create_run("test", {}), python_for=lambda fw: sys.executable)
        assert sup.stop_grace(2000) > sup.stop_grace(16) >= 10.0
        assert sup.stop_grace(2000) >= 40.0
    finally:
        store.close()


MIXED = """#!{python}
import json, sys, time
starts = [json.loads(sys.stdin.readline()) for _ in range(2)]  # two thread tenants
for s in starts:
    print(json.dumps({{"ev": "warm", "tenant": s["tenant"], "warmup_batches": 0, "t": time.monotonic()}}), flush=True)
spec = starts[0]["spec"]
k = int((time.monotonic() - spec["epoch"]) / spec["window_s"]) + 1
while True:  # the first tenant reports, the second never does; 'stop' is never read
    t1 = spec["epoch"] + (k + 1) * spec["window_s"]
    time.sleep(max(0.0, t1 - time.monotonic()))
    print(json.dumps({{"ev": "window", "tenant": starts[0]["tenant"], "t0": t1 - spec["window_s"], "t1": t1,
                      "images": 3, "batches": 3, "batch": 1, "hist": {{}}}}), flush=True)
    k += 1
"""


async def test_a_tenant_failed_before_the_end_stays_failed(tmp_path):
    """The silent tenant fails while the run goes on; killing its runner at the end does
    not turn it into 'stopped', and its healthy neighbour is recorded stopped."""
    path = tmp_path / "mixed"
    path.write_text(MIXED.format(python=sys.executable))
    path.chmod(0o755)
    db = tmp_path / "m.db"
    store = Store(db)
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    sup = Supervisor(store, run_id, python_for=lambda fw: str(path), window_s=0.5, hang_windows=2,
                     logs_dir=tmp_path / "logs")
    group = await sup.add_group(parse_spec("mobilenet_v2,framework=tflite,isolation=thread,count=2"))
    healthy, silent = group.tenants
    end = time.monotonic() + 60
    while silent.status != "failed" and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert silent.status == "failed" and "silent" in silent.error
    await sup.shutdown(timeout=0.5)
    store.end_run(run_id, "done")
    store.close()
    assert (healthy.status, silent.status) == ("stopped", "failed")
    assert rows(db, "SELECT status FROM tenants ORDER BY id") == [("stopped",), ("failed",)]
