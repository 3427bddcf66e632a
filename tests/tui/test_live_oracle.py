"""The live UI's keys (and `s`, an experiment) on the oracle child (tests/oracle: the real
wire protocol, batches of a known time, no framework): the fast tier's copy of
tests/tui/test_live.py, test_experiment_key.py and test_follow_stop.py, so `make check`
covers the app, the Session and the Supervisor behind it. Keys in, screen and DB out."""
import json
import sqlite3

import pytest
from textual.widgets import DataTable, Input

from edgemt_testlib import pid_alive
from runners import config
from test_live import add_group, db_rows, move_group_1, moved_tenants_in_db
from tui.app import make_app
from tui.session import Session
from tui_helpers import group_row, probed_envs, wait_for

pytestmark = pytest.mark.slow


def oracle_session(oracle_home):
    s = Session(oracle_home.home / "ui.db", "ui", {}, config.load(), window_s=0.5, logs_dir=oracle_home.home / "logs")
    s.supervisor.hang_windows = 30  # a loaded 2-core box can be late by 2 s without a hang
    return s


async def test_add_step_batch_pause_export_remove_quit(oracle_home):
    session = oracle_session(oracle_home)
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one(DataTable)
            await add_group(pilot, app, "mobilenet_v2", 1)
            await add_group(pilot, app, "squeezenet1_0", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running" and group_row(app, 2).state
                           == "running" and group_row(app, 1).current > 0, 60, "both groups running")
            await wait_for(pilot, lambda: table.row_count == 2, 10, "both groups on screen")  # drawn on a timer
            assert "mobilenet_v2" in str(table.get_row("g1")) and "squeezenet1_0" in str(table.get_row("g2"))

            table.move_cursor(row=0)
            await pilot.press("plus")
            await wait_for(pilot, lambda: group_row(app, 1).count == 2, 30, "g1 at 2 tenants")
            await wait_for(pilot, lambda: table.get_cell("g1", "n") == "2", 5, "n=2 on screen")
            await pilot.press("minus")
            await wait_for(pilot, lambda: group_row(app, 1).count == 1, 30, "g1 back at 1 tenant")
            assert app.session.supervisor.groups[1].count == 1

            await pilot.press("B")
            await wait_for(pilot, lambda: group_row(app, 1).batch == 2, 30, "g1 batch 2")
            await wait_for(pilot, lambda: db_rows(db, "SELECT COUNT(*) n FROM windows w JOIN tenants t ON "
                                                      "t.id = w.tenant WHERE t.group_id = 1 AND w.batch = 2")[0]["n"]
                           > 0, 30, "windows at batch 2 in the DB")
            await pilot.press("p")
            await wait_for(pilot, lambda: group_row(app, 1).state == "paused", 30, "g1 paused")
            await wait_for(pilot, lambda: str(table.get_cell("g1", "state")) == "paused", 5, "'paused' on screen")
            await pilot.press("p")
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 30, "g1 resumed")

            out = oracle_home.home / "run.csv"
            await pilot.press("e")
            await wait_for(pilot, lambda: app.screen.query("#path"), 10, "the export dialog")
            app.screen.query_one("#path", Input).value = str(out)
            await pilot.press("enter")
            await wait_for(pilot, lambda: out.exists() and any(e[1] == "exported" for e in app.state.events), 30,
                           "the CSV and its event")
            lines = out.read_text().splitlines()
            assert lines[0].startswith("tenant,group_id,model") and len(lines) > 2

            table.move_cursor(row=1)
            await pilot.press("d")
            await wait_for(pilot, lambda: group_row(app, 2).state == "removed", 30, "g2 removed")
            await wait_for(pilot, lambda: str(table.get_cell("g2", "state")) == "removed", 5, "'removed' on screen")

            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")

    assert db_rows(db, "SELECT status FROM runs WHERE id = ?", (session.run_id,))[0]["status"] == "done"
    tenants = db_rows(db, "SELECT * FROM tenants WHERE run = ? ORDER BY id", (session.run_id,))
    assert {t["group_id"] for t in tenants} == {1, 2}
    assert len([t for t in tenants if t["group_id"] == 1]) == 2  # the stepped-up tenant is recorded too
    assert all(t["status"] == "stopped" for t in tenants), [t["status"] for t in tenants]
    assert all(not pid_alive(t["runner_pid"]) for t in tenants)
    kinds = [e["kind"] for e in db_rows(db, "SELECT kind FROM events WHERE run = ? ORDER BY id", (session.run_id,))]
    for k in ("added", "stepped", "batch_changed", "paused", "resumed", "exported", "removed"):
        assert k in kinds, (k, kinds)
    assert kinds.count("stepped") == 2


async def test_move_to_another_framework(oracle_home):
    """torch@cpu -> tensorflow@cpu through the move dialog; the new tenant records where it came from."""
    session = oracle_session(oracle_home)
    app = make_app(config.load(), session, envs=probed_envs("torch", "tensorflow"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await add_group(pilot, app, "mobilenet_v2", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 60, "g1 running")
            # m moves the table's selected group: its row must be drawn (a timer) first
            await wait_for(pilot, lambda: app.query_one(DataTable).row_count == 1, 10, "g1 on screen")
            await move_group_1(pilot, app, "tensorflow@cpu", 60)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    moved_tenants_in_db(session.db, session.run_id, "tensorflow", "tensorflow@cpu")


async def test_s_runs_a_concurrency_sweep(oracle_home):
    """`s` starts an experiment with a progress line; its levels and summary reach the DB."""
    from textual.widgets import Select

    from tui.widgets.experiment_bar import ExperimentBar

    session = oracle_session(oracle_home)
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.screen.query("#kind"), 10, "the experiment form")
            form = app.screen
            form.query_one("#spec", Input).value = "mobilenet_v2,framework=torch,threads=1"
            form.query_one("#max_level", Input).value = "2"
            form.query_one("#strategy", Select).value = "linear"
            form.query_one("#duration", Input).value = "1"
            form.query_one("#ok").focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.screen.query("#kind"), 10, "the form to close")
            bar = app.query_one(ExperimentBar)
            await wait_for(pilot, lambda: "max level 2" in bar.text, 120, "the sweep's answer")
            assert "best level" in bar.text
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    rows = db_rows(session.db, "SELECT key, value FROM results WHERE experiment = 'sweep-concurrency'")
    keys = [(json.loads(r["key"]), json.loads(r["value"])) for r in rows]
    assert sorted(k["concurrency"] for k, _ in keys if k.get("kind") == "level") == [1, 2]
    summary = [v for k, v in keys if k.get("kind") == "summary"][0]
    assert summary["max_level"] == 2 and summary["best_throughput"] > 0
    kinds = [r["kind"] for r in db_rows(session.db, "SELECT kind FROM events")]
    assert "experiment_started" in kinds and "experiment_done" in kinds


async def test_x_stops_a_followed_run(oracle_home):
    """A UI following a run started elsewhere (read from the DB) asks its controller to stop."""
    import subprocess
    import time

    from edgemt_testlib import EDGEMT
    from tui.replay import Follower

    db = oracle_home.db
    run = subprocess.Popen([EDGEMT, "run", "--tenant", "mobilenet_v2,count=2", "--duration", "120",
                            "--window", "0.5", "--db", str(db)], stdout=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                if oracle_home.rows("SELECT id FROM windows LIMIT 1"):
                    break
            except sqlite3.OperationalError:  # the controller has not made its tables yet
                pass
            time.sleep(0.3)
        follower = Follower(db, 1)
        app = make_app(config.load(), follower=follower, save_theme=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.groups(), 30, "the followed run's groups")
            await pilot.press("x")
            await wait_for(pilot, lambda: run.poll() is not None, 60, "the run's controller to stop")
            await pilot.press("q")
        assert run.returncode == 130  # stopped by a signal (docs/cli.md)
        assert db_rows(db, "SELECT status FROM runs")[0]["status"] == "interrupted"
        assert db_rows(db, "SELECT COUNT(*) n FROM tenants WHERE status = 'failed'")[0]["n"] == 0
    finally:
        run.kill()
        run.wait()
