"""A replayed or followed run shows the rate and SLO that were in force at each moment: a
run recorded on the oracle child (the real wire protocol and DB) whose group's rate and SLO
change half-way (the `r` key's Supervisor.set_rate) replays with the first rate before the
change and the second after it, and a follower that joins after the change shows the
second with the figures of the windows since then. Counts and states only."""
import asyncio

import pytest

from runners import config
from runners.spec import parse_spec
from storage import reads, schema
from tui import messages as msg
from tui.app_state import RunState, open_loop_figures
from tui.replay import Follower, Recording
from tui.session import Session

pytestmark = pytest.mark.slow


def play(state: RunState, messages) -> None:
    """The app's message handlers (tui/app.py), without the screen."""
    for m in messages:
        if isinstance(m, msg.TenantChanged):
            state.on_tenant(m)
        elif isinstance(m, msg.WindowDone):
            state.on_window(m)
        elif isinstance(m, msg.WindowsDone):
            for w in m.windows:
                state.on_window(w)
        elif isinstance(m, msg.RunEvent):
            state.on_event(m)
        elif isinstance(m, msg.SampleTaken):
            state.on_sample(m)
        elif isinstance(m, msg.ClockTick):
            state.on_clock(m.t)


def figures(state: RunState, gid: int):
    return open_loop_figures([g for g in state.groups() if g.id == gid][0].tenants)


async def record_rate_change(oracle_home):
    """g1 open-loop at 10/s, SLO p99 1000 ms; a tenant added (g2) closed-loop; after a few
    windows g1 goes to 20/s with p90 500 ms and g2 to 5/s with 800 ms; a few windows more."""
    oracle_home.model("*", batch_s=0.02)
    s = Session(oracle_home.home / "ui.db", "ui", {}, config.load(), window_s=0.5, logs_dir=oracle_home.home / "logs")
    s.supervisor.hang_windows = 30
    sup = s.supervisor

    async def windows(n, tenants):
        for _ in range(1200):
            if all(t.n_windows >= n for t in tenants):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"fewer than {n} windows: {[t.n_windows for t in tenants]}")

    try:
        g1 = await sup.add_group(parse_spec("mobilenet_v2,framework=torch,rate=10,slo=1000"))
        g2 = await sup.add_group(parse_spec("squeezenet1_0,framework=torch"))
        tenants = g1.tenants + g2.tenants
        await windows(3, tenants)
        await sup.set_rate(g1.id, 20, "p90:500")
        await sup.set_rate(g2.id, "5", "800")
        before = {t.id: t.n_windows for t in tenants}
        await windows(max(before.values()) + 3, tenants)
    finally:
        await s.close("done")
    return s.db


async def test_replay_and_follow_show_the_rate_in_force(oracle_home):
    db = await record_rate_change(oracle_home)
    conn = schema.connect(db, readonly=True)
    try:
        run = reads.resolve_run(conn, None)
        changes = [e for e in reads.events(conn, run["id"]) if e["kind"] == "rate_changed"]
    finally:
        conn.close()
    assert len(changes) == 2
    t_change = min(e["t"] for e in changes)

    rec = Recording(db)
    state = RunState()
    items, i = rec.until(0, t_change - 1e-6)
    play(state, items)
    before1, before2 = figures(state, 1), figures(state, 2)
    assert (before1.rate, before1.slo_ms, before1.slo_pct) == (10.0, 1000.0, 99.0)
    assert before1.met is True and before1.goodput > 0  # its open-loop windows so far
    assert before2 is None  # closed loop until the change: no rate, no SLO
    items, i = rec.until(i, rec.end)
    play(state, items)
    after1, after2 = figures(state, 1), figures(state, 2)
    assert (after1.rate, after1.slo_ms, after1.slo_pct) == (20.0, 500.0, 90.0)
    assert (after2.rate, after2.slo_ms, after2.slo_pct) == (5.0, 800.0, 99.0)
    assert after1.goodput > 0 and after2.goodput > 0  # the windows since the change count

    # following the finished run: one poll brings everything; the state is the latest rate,
    # with the figures of the windows since the change (not emptied by the change's event)
    follower = Follower(db, None)
    try:
        followed = RunState()
        play(followed, follower.poll())
    finally:
        follower.close()
    f1, f2 = figures(followed, 1), figures(followed, 2)
    assert (f1.rate, f1.slo_ms, f1.slo_pct) == (20.0, 500.0, 90.0)
    assert (f2.rate, f2.slo_ms, f2.slo_pct) == (5.0, 800.0, 99.0)
    assert (f1.goodput, f1.attainment, f1.latency_ms) == (after1.goodput, after1.attainment, after1.latency_ms)
    assert (f2.goodput, f2.attainment) == (after2.goodput, after2.attainment)
