"""Stopping a run while a tenant is still loading its model: the child (still importing
its framework) cannot answer 'stop', so the supervisor must kill its runner; the tenant is
recorded ``stopped``, not failed. A tenant that was running and does not answer 'stop'
is the one that counts as failed ("did not stop in time").

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
tenant = json.loads(line)["tenant"]
if {warm}:
    print(json.dumps({{"ev": "warm", "tenant": tenant, "warmup_batches": 0, "t": time.monotonic()}}), flush=True)
time.sleep(120)  # 'loading' (or hung): never reads 'stop'
"""


def standin(tmp_path, warm: bool):
    path = tmp_path / ("warm-then-hung" if warm else "still-loading")
    path.write_text(STANDIN.format(python=sys.executable, warm=warm))
    path.chmod(0o755)
    return str(path)


def rows(db, sql):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("warm, expected", [(False, "stopped"), (True, "failed")])
async def test_shutdown_kills_an_unanswering_runner(tmp_path, warm, expected):
    db = tmp_path / "stop.db"
    store = Store(db)
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    python = standin(tmp_path, warm)
    sup = Supervisor(store, run_id, python_for=lambda fw: python, window_s=0.5, hang_windows=10_000,
                     logs_dir=tmp_path / "logs")
    group = await sup.add_group(parse_spec("mobilenet_v2,count=2"))
    tenants = list(group.tenants)
    pids = [t.runner.pid for t in tenants]
    if warm:
        end = time.monotonic() + 30
        while any(t.status != "running" for t in tenants) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        assert all(t.status == "running" for t in tenants)
    else:
        await asyncio.sleep(0.3)
        assert all(t.status == "starting" for t in tenants)
    await sup.shutdown(timeout=0.5)
    store.end_run(run_id, "done")
    store.close()

    assert [t.status for t in tenants] == [expected] * 2
    assert rows(db, "SELECT status FROM tenants ORDER BY id") == [(expected,)] * 2
    failed = [json.loads(d) for (d,) in rows(db, "SELECT detail FROM events WHERE kind = 'failed'")]
    if warm:
        assert len(failed) == 2 and all("did not stop in time" in f["reason"] for f in failed)
    else:
        assert failed == [] and all(t.error is None for t in tenants)
    assert not any(alive(p) for p in pids)
