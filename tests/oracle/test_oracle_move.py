"""Oracle: a move (DMP) keeps every image on the placement that ran it. torch@cpu and
tflite@cpu have different batch times here, so each placement's figure tells whose
images it holds."""
import asyncio

import pytest

from oracle.oracle_env import on_schedule
from runners import config
from runners.spec import parse_spec
from tui.session import Session


async def _until(pred, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_move_keeps_images_on_the_placement_that_ran_them(oracle_home):
    w = 0.25
    rate = {"torch": 2 / 0.02, "tflite": 2 / 0.05}  # batch 2
    oracle_home.model("torch:mobilenet_v2", batch_s=0.02).model("tflite:mobilenet_v2", batch_s=0.05)
    oracle_home.ledger()
    session = Session(oracle_home.db, "test", {}, config.load(), window_s=w, collectors=[])
    sup = session.supervisor
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,count=2,batch=2,threads=1"))
        await _until(lambda: all(t.n_windows >= 6 for t in g.active))
        old = list(g.active)
        await sup.move(g.id, "tflite", "cpu")
        t_move = sup.now()
        await _until(lambda: g.active and all(t.n_windows >= 6 for t in g.active))
        new = list(g.active)
        tp = sup.placement_throughputs()
    finally:
        await session.close()
    assert [t.moved_from for t in new] == [t.id for t in old]
    rows = oracle_home.rows("SELECT id, framework, resource, moved_from FROM tenants ORDER BY id")
    assert [(r[1], r[3]) for r in rows] == [("torch", None)] * 2 + [("tflite", old[0].id), ("tflite", old[1].id)]
    for tid, framework, _, _ in rows:
        windows = oracle_home.rows("SELECT t_start, t_end, images, batches FROM windows WHERE tenant = ?", (tid,))
        assert windows
        if framework == "torch":
            assert max(r[1] for r in windows) <= t_move + 1e-6
        else:
            assert min(r[0] for r in windows) >= t_move - w
        images = sum(r[2] for r in windows)
        seconds = sum(r[1] - r[0] for r in windows)
        # exact: the placement's own child counted them: batches timed in those windows, x batch 2
        spans = [(round(r[0] / w), round(r[1] / w)) for r in windows]
        timed = sum(1 for t in oracle_home.batches_counted(tid) if any(a <= int(t // w) < b for a, b in spans))
        assert images == 2 * timed
        # and that is the placement's schedule (its batch time, not the other's)
        assert on_schedule(images / seconds, rate[framework], 2, seconds), (tid, framework, images / seconds)
    assert 0.9 * 2 * rate["torch"] <= tp["torch@cpu"] <= 1.1 * 2 * rate["torch"]
    assert 0.9 * 2 * rate["tflite"] <= tp["tflite@cpu"] <= 1.1 * 2 * rate["tflite"]
