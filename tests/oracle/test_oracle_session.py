"""The Session's lifecycle (tui/session.py) as ``async with``, on oracle children: the stop
signals are taken on the way in and given back on the way out, the run's final status is
``done``, ``interrupted`` (a stop signal) or ``failed`` (the body raised), and every tenant
is stopped and the DB closed in each case."""
import asyncio
import os
import signal

import pytest

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


def run_status(oracle_home, run_id):
    return oracle_home.rows("SELECT status FROM runs WHERE id = ?", (run_id,))[0][0]


@pytest.fixture(autouse=True)
def plain_signals():
    """Each test starts with the dispositions an interactive shell gives (a pytest started in
    the background of a non-interactive shell begins with SIGINT ignored), and gets back what it had."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in sigs}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


def new_session(oracle_home):
    oracle_home.model("*", batch_s=0.02)
    return Session(oracle_home.db, "test", {}, config.load(), window_s=0.3, collectors=[])


async def test_a_run_that_ends_is_done_and_the_signals_are_given_back(oracle_home):
    before = signal.getsignal(signal.SIGINT)
    async with new_session(oracle_home) as session:
        g = await session.supervisor.add_group(parse_spec("mobilenet_v2,count=2,threads=1"))
        await until(lambda: all(t.n_windows >= 1 for t in g.active))
        assert not session.stopped
    assert session.status == "done" and run_status(oracle_home, session.run_id) == "done"
    assert all(t.status == "stopped" for t in g.tenants)
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C is KeyboardInterrupt again


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_a_stop_signal_stops_the_body_and_the_run_is_interrupted(oracle_home, sig):
    async with new_session(oracle_home) as session:
        g = await session.supervisor.add_group(parse_spec("mobilenet_v2,threads=1"))
        await until(lambda: g.active[0].n_windows >= 1)
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(session.stop.wait(), 10)
    assert session.stopped_by == [sig]
    assert session.stop_signal_name() == {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM",
                                          signal.SIGHUP: "SIGHUP (terminal lost)"}[sig]
    assert session.status == "interrupted" and run_status(oracle_home, session.run_id) == "interrupted"
    assert g.active == [] or all(t.status == "stopped" for t in g.tenants)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT])
async def test_a_signal_ignored_when_the_run_began_stays_ignored(oracle_home, sig):
    # `nohup edgemt run ... &`: the run was asked to outlive the terminal (SIGHUP ignored), and
    # a background job of a script ignores Ctrl-C at the terminal (SIGINT ignored)
    signal.signal(sig, signal.SIG_IGN)
    async with new_session(oracle_home) as session:
        g = await session.supervisor.add_group(parse_spec("mobilenet_v2,threads=1"))
        await until(lambda: g.active[0].n_windows >= 1)
        os.kill(os.getpid(), sig)
        await asyncio.sleep(0.3)
        assert not session.stopped
        os.kill(os.getpid(), signal.SIGTERM)  # the others still stop it
        await asyncio.wait_for(session.stop.wait(), 10)
    assert session.stopped_by == [signal.SIGTERM] and session.status == "interrupted"
    assert signal.getsignal(sig) == signal.SIG_IGN  # given back as it was
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_a_body_that_raises_fails_the_run_and_still_stops_every_tenant(oracle_home):
    with pytest.raises(RuntimeError, match="boom"):
        async with new_session(oracle_home) as session:
            g = await session.supervisor.add_group(parse_spec("mobilenet_v2,threads=1"))
            await until(lambda: g.active[0].n_windows >= 1)
            raise RuntimeError("boom")
    assert session.status == "failed" and run_status(oracle_home, session.run_id) == "failed"
    assert all(t.status == "stopped" for t in g.tenants)


async def test_the_body_chooses_the_status_and_a_second_close_does_nothing(oracle_home):
    session = new_session(oracle_home)
    async with session.handling(stop=(signal.SIGTERM,), ignore=(signal.SIGHUP,)):
        os.kill(os.getpid(), signal.SIGHUP)  # ignored: no stop, the process lives on
        await asyncio.sleep(0.2)
        assert not session.stopped
        session.outcome = "done"
    assert session.status == "done"
    await session.close("failed")  # already closed: nothing changes
    assert run_status(oracle_home, session.run_id) == "done"


async def test_the_ui_s_hook_decides_what_a_signal_does_while_it_is_set(oracle_home):
    """The UI's live run (tui/app_main.py): the lifecycle is entered before the Session is
    opened (in a thread, after the first frame); while ``on_signal`` is set every signal the
    Session takes goes to it and stops nothing; once cleared, a stop signal stops the run."""
    oracle_home.model("*", batch_s=0.02)
    session = Session(oracle_home.db, "ui", {}, config.load(), window_s=0.3, collectors=[], defer_open=True)
    assert session.status == "starting"
    heard = []
    async with session.handling(stop=(signal.SIGTERM, signal.SIGINT), ignore=(signal.SIGHUP,),
                                db_error_stops=False):
        session.on_signal = heard.append
        await asyncio.get_running_loop().run_in_executor(None, session.open)
        assert session.status == "running"
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            os.kill(os.getpid(), sig)
        await until(lambda: len(heard) == 3)
        assert heard == [signal.SIGHUP, signal.SIGTERM, signal.SIGINT] and not session.stopped
        session.on_signal = None
        os.kill(os.getpid(), signal.SIGHUP)  # ignored once the UI has gone
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(session.stop.wait(), 10)
    assert session.stopped_by == [signal.SIGTERM]
    assert session.status == "interrupted" and run_status(oracle_home, session.run_id) == "interrupted"


async def test_a_session_never_opened_has_nothing_to_close(oracle_home):
    """The UI's Session whose opening failed (or never came): the lifecycle ends without
    touching the DB."""
    session = Session(oracle_home.db, "ui", {}, config.load(), collectors=[], defer_open=True)
    async with session.handling(db_error_stops=False):
        pass
    assert session.status == "starting" and not oracle_home.db.exists()
