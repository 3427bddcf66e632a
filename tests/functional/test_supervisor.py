"""The Supervisor driven directly, with real children: step, batch, pause, move across
frameworks (torch@cpu -> tflite@cpu mid-run), remove."""
import asyncio
import json
import sqlite3

import pytest

from edgemt_testlib import ensure_tflite_model, require_env
from runners import config
from runners.spec import parse_spec
from tui.session import Session


async def until(pred, timeout=90.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def windows_after(tenant, t):
    return tenant.windows_between(t)


async def test_step_batch_pause_move_remove(edgemt_home):
    require_env("torch")
    require_env("tflite")
    ensure_tflite_model()
    db = edgemt_home / "edgemt.db"
    session = Session(db, "test", {}, config.load(), window_s=0.5, collectors=[])
    sup = session.supervisor
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,count=1,threads=1,batch=2"))
        await until(lambda: all(t.n_windows >= 2 for t in g.active))
        # step up, then down
        assert await sup.step(g.id, +1) == 2
        await until(lambda: all(t.n_windows >= 1 for t in g.active))
        newest = g.active[-1]
        assert await sup.step(g.id, -1) == 1
        assert newest.status == "stopped" and g.count == 1
        # batch change reaches the child: later windows carry the new batch in the DB
        await sup.set_batch(g.id, 4)
        t_change = sup.now()
        await until(lambda: any(w.images >= 4 for w in windows_after(g.active[0], t_change + 0.5)))
        # pause: no more windows; resume: windows again
        await sup.pause(g.id)
        await asyncio.sleep(0.6)
        n_paused = g.active[0].n_windows
        await asyncio.sleep(1.5)
        assert g.active[0].n_windows == n_paused and g.active[0].status == "paused"
        await sup.resume(g.id)
        await until(lambda: g.active[0].n_windows > n_paused)
        # move torch@cpu -> tflite@cpu: the int8 model takes batch 1 or a resized batch; either is logged
        old_ids = [t.id for t in g.active]
        await sup.move(g.id, "tflite", "cpu")
        assert g.spec.placement == "tflite@cpu" and g.spec.isolation == "thread"
        await until(lambda: g.active and all(t.n_windows >= 2 for t in g.active))
        moved = g.active
        assert [t.moved_from for t in moved] == old_ids
        assert all(t.last_window.images > 0 for t in moved)
        tp = sup.placement_throughputs()
        assert tp["tflite@cpu"] > 0 and tp["torch@cpu"] > 0
        await sup.remove(g.id)
        assert not g.active
    finally:
        await session.close()
    c = sqlite3.connect(db)
    kinds = [r[0] for r in c.execute("SELECT kind FROM events ORDER BY id")]
    for k in ("added", "stepped", "batch_changed", "paused", "resumed", "moved", "removed"):
        assert k in kinds, (k, kinds)
    moved_rows = c.execute("SELECT framework, resource, moved_from, status FROM tenants WHERE moved_from IS NOT NULL").fetchall()
    assert moved_rows and all(r[0] == "tflite" and r[2] in old_ids and r[3] == "stopped" for r in moved_rows)
    assert c.execute("SELECT MAX(batch) FROM windows").fetchone()[0] == 4
    detail = json.loads(c.execute("SELECT detail FROM events WHERE kind = 'moved'").fetchone()[0])
    assert detail["from"] == "torch@cpu" and detail["to"] == "tflite@cpu"
    assert c.execute("SELECT status FROM runs").fetchone()[0] == "done"


async def test_bad_commands_are_bad_input(edgemt_home):
    require_env("torch")
    from runners.errors import BadInput

    session = Session(edgemt_home / "e.db", "test", {}, config.load(), window_s=0.5, collectors=[])
    sup = session.supervisor
    try:
        g = await sup.add_group(parse_spec("squeezenet1_0,threads=1"))
        with pytest.raises(BadInput, match="no group g99"):
            await sup.step(99, 1)
        with pytest.raises(BadInput, match="batch 0"):
            await sup.set_batch(g.id, 0)
        with pytest.raises(BadInput, match="cannot move to tflite"):
            await sup.move(g.id, "tflite", "cpu")
        with pytest.raises(BadInput, match="cuda:3 not found"):
            await sup.move(g.id, "torch", "cuda:3")
        with pytest.raises(BadInput, match="already runs on torch@cpu"):
            await sup.move(g.id, "torch", "cpu")
        assert g.count == 1
    finally:
        await session.close()
