"""Pilot tests of the live UI on real torch children on the CPU: keys in, screen and DB out."""
import sqlite3

import pytest
from textual.widgets import DataTable, Input, Select

from edgemt_testlib import ensure_tflite_model, pid_alive
from runners import config
from tui_helpers import group_row, probed_envs, wait_for
from tui.app import make_app

pytestmark = pytest.mark.slow


def db_rows(path, sql, args=()):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


async def add_group(pilot, app, model="mobilenet_v2", count=1):
    await pilot.press("a")
    await wait_for(pilot, lambda: app.screen.query("#model"), 10, "the add form")
    form = app.screen
    form.query_one("#model", Select).value = model
    await pilot.pause()
    count_in = form.query_one("#count", Input)
    count_in.value = ""
    count_in.focus()
    await pilot.press(*str(count))
    await pilot.press("enter")
    await wait_for(pilot, lambda: not app.screen.query("#model"), 60, "the add form to close")


async def move_group_1(pilot, app, target_label, timeout):
    """Moves g1 to ``target_label`` through the m dialog (which must offer it and not g1's
    own placement) and waits until g1 runs there and the table shows it."""
    table = app.query_one(DataTable)
    here = group_row(app, 1).placement
    await pilot.press("m")
    await wait_for(pilot, lambda: app.screen.query("#target"), 10, "the move dialog")
    target = app.screen.query_one("#target", Select)
    offered = [str(o[0]) for o in target._options]
    assert target_label in offered and here not in offered, (here, offered)
    target.value = target_label
    app.screen.query_one("#ok").focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: group_row(app, 1).placement == target_label
                   and group_row(app, 1).state == "running" and group_row(app, 1).current > 0, timeout,
                   f"g1 running on {target_label}")
    await wait_for(pilot, lambda: table.get_cell("g1", "placement") == target_label, 5, "the new placement on screen")


def moved_tenants_in_db(db, run_id, framework, target_label):
    """The DB after one move of a one-tenant torch group: both tenants stopped, the new one
    on ``framework``, pointing to the old, with a moved event and windows of its own."""
    tenants = db_rows(db, "SELECT * FROM tenants WHERE run = ? ORDER BY id", (run_id,))
    assert [(t["framework"], t["status"]) for t in tenants] == [("torch", "stopped"), (framework, "stopped")]
    assert tenants[1]["moved_from"] == tenants[0]["id"]
    moved = db_rows(db, "SELECT detail FROM events WHERE run = ? AND kind = 'moved'", (run_id,))
    assert len(moved) == 1 and target_label in moved[0]["detail"]
    assert db_rows(db, "SELECT COUNT(*) n FROM windows WHERE tenant = ?", (tenants[1]["id"],))[0]["n"] > 0
    return tenants


async def test_add_step_batch_pause_export_remove_quit(live_session, edgemt_home):
    session = live_session()
    db = session.db
    cfg = config.load()
    app = make_app(cfg, session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one(DataTable)
            # add two groups through the form
            await add_group(pilot, app, "mobilenet_v2", 1)
            await add_group(pilot, app, "squeezenet1_0", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running" and group_row(app, 2).state
                           == "running" and group_row(app, 1).current > 0, 120, "both groups running")
            assert table.row_count == 2
            assert "mobilenet_v2" in str(table.get_row("g1")) and "squeezenet1_0" in str(table.get_row("g2"))

            # step g1 up, then down
            table.move_cursor(row=0)
            await pilot.press("plus")
            await wait_for(pilot, lambda: group_row(app, 1).count == 2, 60, "g1 at 2 tenants")
            await wait_for(pilot, lambda: table.get_cell("g1", "n") == "2", 5, "n=2 on screen")
            await pilot.press("minus")
            await wait_for(pilot, lambda: group_row(app, 1).count == 1, 60, "g1 back at 1 tenant")
            # the supervisor's own count, not just what the screen shows
            assert app.session.supervisor.groups[1].count == 1

            # double the batch, then pause and resume
            await pilot.press("B")
            await wait_for(pilot, lambda: group_row(app, 1).batch == 2, 30, "g1 batch 2")
            await wait_for(pilot, lambda: db_rows(db, "SELECT COUNT(*) n FROM windows w JOIN tenants t ON "
                                                      "t.id = w.tenant WHERE t.group_id = 1 AND w.batch = 2")[0]["n"]
                           > 0, 60, "windows at batch 2 in the DB")
            await pilot.press("p")
            await wait_for(pilot, lambda: group_row(app, 1).state == "paused", 30, "g1 paused")
            await wait_for(pilot, lambda: str(table.get_cell("g1", "state")) == "paused", 5, "'paused' on screen")
            await pilot.press("p")
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 30, "g1 resumed")

            # export to a path typed in the dialog
            out = edgemt_home / "run.csv"
            await pilot.press("e")
            await wait_for(pilot, lambda: app.screen.query("#path"), 10, "the export dialog")
            app.screen.query_one("#path", Input).value = str(out)
            await pilot.press("enter")
            await wait_for(pilot, lambda: out.exists() and any(e[1] == "exported" for e in app.state.events), 30,
                           "the CSV and its event")
            lines = out.read_text().splitlines()
            assert lines[0].startswith("tenant,group_id,model") and len(lines) > 2

            # remove g2
            table.move_cursor(row=1)
            await pilot.press("d")
            await wait_for(pilot, lambda: group_row(app, 2).state == "removed", 60, "g2 removed")
            await wait_for(pilot, lambda: str(table.get_cell("g2", "state")) == "removed", 5, "'removed' on screen")

            # quit: every tenant stops, the run is done
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")

    run = db_rows(db, "SELECT * FROM runs WHERE id = ?", (session.run_id,))[0]
    assert run["status"] == "done"
    tenants = db_rows(db, "SELECT * FROM tenants WHERE run = ? ORDER BY id", (session.run_id,))
    assert {t["group_id"] for t in tenants} == {1, 2}
    assert len([t for t in tenants if t["group_id"] == 1]) == 2  # the stepped-up tenant is recorded too
    assert all(t["status"] in ("stopped",) for t in tenants), [t["status"] for t in tenants]
    assert all(not pid_alive(t["runner_pid"]) for t in tenants)
    kinds = [e["kind"] for e in db_rows(db, "SELECT kind FROM events WHERE run = ? ORDER BY id", (session.run_id,))]
    for k in ("added", "stepped", "batch_changed", "paused", "resumed", "exported", "removed"):
        assert k in kinds, (k, kinds)
    assert kinds.count("stepped") == 2
    n_windows = db_rows(db, "SELECT COUNT(*) n FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ?",
                        (session.run_id,))[0]["n"]
    assert n_windows > 4


async def test_move_between_two_real_placements(live_session):
    """torch@cpu -> tensorflow@cpu through the move dialog; the new tenants record where they came from."""
    session = live_session()
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("torch", "tensorflow"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await add_group(pilot, app, "mobilenet_v2", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 120, "g1 running")
            await move_group_1(pilot, app, "tensorflow@cpu", 180)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    moved_tenants_in_db(db, session.run_id, "tensorflow", "tensorflow@cpu")


async def test_move_torch_to_tflite(live_session):
    """torch@cpu -> tflite@cpu through the move dialog: a move to another framework's
    runner children, with the screen and the DB both showing the new placement."""
    from edgemt_testlib import require_env

    require_env("tflite")
    ensure_tflite_model()
    session = live_session()
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("torch", "tflite"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await add_group(pilot, app, "mobilenet_v2", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 120, "g1 running on torch")
            await move_group_1(pilot, app, "tflite@cpu", 120)
            await wait_for(pilot, lambda: any(e[1] == "moved" for e in app.state.events), 5, "the moved event")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    tenants = moved_tenants_in_db(db, session.run_id, "tflite", "tflite@cpu")
    assert all(not pid_alive(t["runner_pid"]) for t in tenants)


async def test_move_torch_to_onnxruntime(live_session):
    """torch@cpu -> onnxruntime@cpu through the move dialog: the group's tenants continue on
    ONNX Runtime's CPU provider (the model's fp32 ONNX file), in a thread-isolation runner."""
    from edgemt_testlib import ensure_onnx_models, require_env

    require_env("onnxruntime")
    ensure_onnx_models(["mobilenet_v2"])
    session = live_session()
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("torch", "onnxruntime"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await add_group(pilot, app, "mobilenet_v2", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running", 120, "g1 running on torch")
            await move_group_1(pilot, app, "onnxruntime@cpu", 180)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    tenants = moved_tenants_in_db(db, session.run_id, "onnxruntime", "onnxruntime@cpu")
    assert tenants[1]["isolation"] == "thread"


async def test_first_frame_before_the_session_and_quit_while_starting(live_session):
    """`edgemt` draws its first frame before the Session exists (made by session_factory in
    a thread); keys that need the run only warn meanwhile, and q pressed before the run
    exists stops it as soon as it does."""
    import threading

    started, release = threading.Event(), threading.Event()

    def factory():
        started.set()
        release.wait(60)
        return live_session()

    app = make_app(config.load(), session_factory=factory, envs={}, edgetpus=[], save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, started.is_set, 20, "the session factory to start")
        await pilot.pause(0.3)
        assert app.session is None
        assert "run …" in app.query_one("#header")._shown_text.plain
        assert app.query_one(DataTable).row_count == 0
        await pilot.press("a")  # needs the run: a warning, no form
        await pilot.pause(0.2)
        assert not app.screen.query("#model")
        await pilot.press("q")
        await pilot.pause(0.5)
        assert app.is_running  # waits for the run to exist, then stops it
        release.set()
        await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    session = app.session
    assert session is not None and session.status == "done"
    run = db_rows(session.db, "SELECT * FROM runs WHERE id = ?", (session.run_id,))[0]
    assert run["status"] == "done"
