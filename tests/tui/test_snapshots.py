"""Snapshot tests of a recorded run replayed at its end: one per theme, and the 80x24 layout.

The run (tests/tui/data/replay.db, made by make_replay_db.py from real torch children) is
replayed from the DB with fixed header facts, so nothing here depends on the host or the clock.
"""
import pytest

from tui.app import make_app
from tui.replay import Recording
from tui_helpers import FIXED_INFO, settle

THEMES = ("edgemt-dark", "edgemt-light", "edgemt-ansi")


def replay_app(db, theme="edgemt-dark"):
    return make_app({"theme": theme, "step": 4}, recording=Recording(db), info=FIXED_INFO, at_end=True,
                    save_theme=False)



@pytest.mark.parametrize("theme", THEMES)
def test_replay_theme(snap_compare, replay_db, theme):
    assert snap_compare(replay_app(replay_db, theme), terminal_size=(120, 36), run_before=settle)


def test_replay_compact_80x24(snap_compare, replay_db):
    assert snap_compare(replay_app(replay_db), terminal_size=(80, 24), run_before=settle)


def test_replay_help_screen(snap_compare, replay_db):
    async def help_(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(replay_app(replay_db), terminal_size=(100, 30), run_before=help_)


async def test_replay_shows_the_recorded_run(replay_db):
    """Played fast from the start, the replay reaches the recorded end state."""
    rec = Recording(replay_db)
    app = make_app({"theme": "edgemt-dark"}, recording=rec, info=FIXED_INFO, speed=50.0, save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(100):
            if app.state.t >= rec.end:
                break
            await pilot.pause(0.1)
        await pilot.pause(0.6)
        groups = {g.label: g for g in app.state.groups()}
        assert set(groups) == {"g1", "g2"}
        assert len(groups["g1"].tenants) == 2 and groups["g2"].batch == 2
        kinds = [e[1] for e in app.state.events]
        assert kinds.count("added") == 2 and "stepped" in kinds and "paused" in kinds
        table = app.query_one("#tenants")
        assert table.row_count == 2 and "squeezenet1_0" in str(table.get_row("g2"))
        # commands are refused in a replay, with a message, not a crash
        await pilot.press("plus")
        await pilot.pause()
        assert app.is_running
