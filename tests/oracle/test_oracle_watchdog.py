"""The Supervisor's watchdog with oracle children that go silent after a resume (the oracle's
mute_after_resume): a tenant that sends no window for N windows after a resume is flagged,
whatever state the controller thinks it is in (issue 11, defect 1: a resumed tenant was
'settling' and never checked)."""
import asyncio

from runners import config
from runners.spec import parse_spec
from tui.session import Session


async def until(pred, timeout=30.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _pause_resume(sup, g):
    await until(lambda: all(t.n_windows >= 2 for t in g.active))
    await sup.pause(g.id)
    await asyncio.sleep(0.3)
    await sup.resume(g.id)


async def test_silent_after_resume_is_flagged(oracle_home):
    oracle_home.model("*", batch_s=0.05).set(mute_after_resume=True)
    session = Session(oracle_home.db, "test", {}, config.load(), window_s=0.3, collectors=[])
    sup = session.supervisor
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,threads=1"))
        t = g.active[0]
        await _pause_resume(sup, g)
        # 3 windows + 0.5 s without a report, and the child uses no CPU: hung
        await until(lambda: t.status == "failed", timeout=20)
        assert "no report" in t.error or "no window" in t.error, t.error
    finally:
        await session.close()


async def test_one_silent_tenant_of_a_thread_runner_is_flagged_alone(oracle_home):
    # tenant 1 goes silent, tenant 2 (same process) keeps reporting: the runner is not hung
    oracle_home.model("*", batch_s=0.05).set(mute_after_resume=[1])
    session = Session(oracle_home.db, "test", {}, config.load(), window_s=0.3, collectors=[])
    sup = session.supervisor
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,count=2,isolation=thread"))
        silent, other = g.active
        assert silent.id == 1 and silent.runner is other.runner
        await _pause_resume(sup, g)
        await until(lambda: silent.status == "failed", timeout=20)
        assert "no window" in silent.error, silent.error
        assert "resumed" in silent.error, silent.error
        n = other.n_windows
        await until(lambda: other.n_windows >= n + 3)
        assert other.status == "running"
    finally:
        await session.close()
    events = oracle_home.rows("SELECT kind, tenant FROM events WHERE kind = 'failed'")
    assert events == [("failed", 1)]
