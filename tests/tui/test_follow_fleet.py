"""``edgemt --follow FLEET.db`` (issue 17): the UI follows every board's run of a fleet DB,
with a board column in the tenants table and each board's total, the rate ``edgemt fleet
status`` prints. The fleet DB is made without Ray, as the head makes it: real board DBs
(the recorded run of tests/tui/data, one board's images tripled so the boards differ)
streamed into it by storage/fleet_db.py in batches, one board only in part at first."""
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from runners import config
from storage import schema
from storage.fleet_db import FleetDB, board_totals, last_window_rate, read_new_rows
from tui.app import make_app
from tui.fleet_follow import FleetFollower
from tui_helpers import REPLAY_DB, wait_for

EDGEMT = str(Path(sys.executable).parent / "edgemt")


def board_db(tmp_path, name, factor=1) -> Path:
    """A board's own DB: the recorded run, in progress, its images times ``factor``."""
    p = tmp_path / f"{name}.db"
    shutil.copy(REPLAY_DB, p)
    conn = sqlite3.connect(str(p))
    conn.execute("UPDATE runs SET status = 'running', ended = NULL")
    conn.execute("UPDATE tenants SET status = 'running', ended = NULL WHERE id IN (1, 3)")
    conn.execute("UPDATE windows SET images = images * ?", (factor,))
    conn.commit()
    conn.close()
    return p


def stream(fleet, board, path, limit=1000) -> None:
    while True:
        counts = fleet.apply(board, read_new_rows(str(path), fleet.cursor(board), limit=limit), str(path))
        if not counts["windows"]:
            return


def stored_rates(db) -> dict:
    """Each board's rate as ``edgemt fleet status`` computes it from the fleet DB."""
    conn = schema.connect(db, readonly=True)
    conn.row_factory = None
    try:
        return {r["board"]: last_window_rate(r["last_slot"]) for r in board_totals(conn)}
    finally:
        conn.close()


def cell(table, key, column) -> str:
    return str(table.get_cell(key, column))


def keys(table) -> list:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def test_board_column_and_totals_follow_the_fleet_db(tmp_path):
    b1, b2 = board_db(tmp_path, "b1"), board_db(tmp_path, "b2", factor=3)
    db = tmp_path / "fleet.db"
    fleet = FleetDB(db, plan="plan.toml")
    try:
        stream(fleet, "b1", b1)
        fleet.apply("b2", read_new_rows(str(b2), {}, limit=60), str(b2))  # b2: part of its run so far
        rates = stored_rates(db)
        assert rates["b1"] is not None and rates["b2"] is not None and rates["b1"] != rates["b2"]

        app = make_app(config.load(), follower=FleetFollower(db), save_theme=False)
        async with app.run_test(size=(200, 40)) as pilot:
            table = app.query_one("#tenants")
            await wait_for(pilot, lambda: "board-1" in keys(table) and cell(table, "board-1", "now/s") != "-", 20,
                           "both boards' totals on screen")
            # each board's total row, then its groups: the boards' own g1 and g2 are four groups
            assert keys(table) == ["board-0", "g1", "g2", "board-1", "g3", "g4"]
            assert [cell(table, k, "board") for k in keys(table)] == ["b1", "b1", "b1", "b2", "b2", "b2"]
            assert [cell(table, k, "model") for k in ("g1", "g2", "g3", "g4")] == [
                "mobilenet_v2", "squeezenet1_0", "mobilenet_v2", "squeezenet1_0"]
            for i, board in enumerate(("b1", "b2")):
                assert cell(table, f"board-{i}", "model") == "board total"
                assert cell(table, f"board-{i}", "now/s") == f"{rates[board]:.1f}"  # fleet status's figure
                assert cell(table, f"board-{i}", "n") == "2"  # its running tenants
                assert cell(table, f"board-{i}", "state") == "running"

            stream(fleet, "b2", b2)  # the rest of b2's run arrives, and the run ends there
            conn = sqlite3.connect(str(b2))
            conn.execute("UPDATE runs SET status = 'done'")
            conn.commit()
            conn.close()
            fleet.apply("b2", read_new_rows(str(b2), fleet.cursor("b2")), str(b2))
            later = stored_rates(db)
            assert later["b2"] != rates["b2"]
            await wait_for(pilot, lambda: cell(table, "board-1", "now/s") == f"{later['b2']:.1f}"
                           and cell(table, "board-1", "state") == "done", 20, "b2's new total")
            assert cell(table, "board-0", "now/s") == f"{later['b1']:.1f}"
            await pilot.press("q")
    finally:
        fleet.close()


def test_follow_refuses_what_is_not_a_fleet_db(tmp_path):
    plain = tmp_path / "plain.db"
    shutil.copy(REPLAY_DB, plain)  # an edgemt DB without a fleet run
    other = tmp_path / "other.db"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for path, says in ((tmp_path / "missing.db", "is not a whole number (a run id) nor a file"), (plain, "holds no fleet run"),
                       (other, str(other))):
        r = subprocess.run([EDGEMT, "--follow", str(path)], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (path, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0] and "--follow" in lines[0], r.stderr
        assert "Traceback" not in r.stderr
    assert other.read_bytes() == before  # another program's DB is never touched


def test_follow_fleet_snapshot(snap_compare, tmp_path):
    """What following a fleet DB looks like: the board column, each board's total row."""
    from tui_helpers import FIXED_INFO, columns_widened, late_widgets_drawn

    b1, b2 = board_db(tmp_path, "b1"), board_db(tmp_path, "b2", factor=3)
    db = tmp_path / "fleet.db"
    fleet = FleetDB(db, plan="plan.toml")
    try:
        stream(fleet, "b1", b1)
        stream(fleet, "b2", b2)
    finally:
        fleet.close()
    info = dict(FIXED_INFO, host="fleet of 2 boards (b1, b2)", db="fleet.db", run_id="fleet")

    async def followed(pilot):
        table = pilot.app.query_one("#tenants")
        for _ in range(100):
            if "board-1" in keys(table):
                break
            await pilot.pause(0.1)
        await pilot.pause(0.6)  # a second poll: nothing new, the same screen
        await late_widgets_drawn(pilot)
        await columns_widened(pilot, table)  # (once at load 10 the frame had header-wide columns)
        await pilot.pause()

    app = make_app({"theme": "edgemt-dark", "step": 4}, follower=FleetFollower(db), info=info, save_theme=False)
    assert snap_compare(app, terminal_size=(140, 36), run_before=followed)
