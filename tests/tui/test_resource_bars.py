"""The resources panel's bars (and sparklines) are drawn for the panel's real width from the
first settled frame. The run screen draws the state as the app mounts, before the layout has
given the panel its width: a run that does not change afterwards (a replay opened at its
end, ``--speed 0``) kept bars sized for a width of 0 (6 cells) until a key or a resize
redrew them. The panel draws itself again on its Resize, so every mode (live, replay,
follow: all draw through ``ResourcesPanel.show``) gets its real width."""
import pytest
from textual.app import App

from tui import messages as msg
from tui.app import make_app
from tui.app_state import RunState
from tui.replay import Follower, Recording
from tui.widgets.resources import ResourcesPanel
from tui_helpers import FIXED_INFO, settle


def cpu_bar_width(app) -> int:
    """The cells of the CPU line's bar as the panel shows it now."""
    panel = app.query_one(ResourcesPanel)
    line = next(line for line in str(panel.render()).splitlines() if line.startswith("CPU"))
    return len(line[4:]) - len(line[4:].lstrip("█░"))  # the bar follows the label; a sparkline ends it


def expected_bar_width(app) -> int:
    """The bar's width the panel's content width gives (tui/widgets/resources.py show)."""
    width = max(app.query_one(ResourcesPanel).size.width - 2, 30)
    return max(6, min(20, (width - 18) // 2))



async def first_and_forced(app, size):
    """The CPU bar's width on the first settled frame that shows the run's samples, then
    after a forced redraw."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for _ in range(100):  # a follower's first poll comes after half a second
            if app.state.metrics.get("cpu_percent") and cpu_bar_width(app):
                break
            await pilot.pause(0.1)
        await pilot.pause()
        first = cpu_bar_width(app)
        assert app.query_one(ResourcesPanel).size.width > 0
        expected = expected_bar_width(app)
        app.run_screen.request_view_refresh()
        await pilot.pause()
        forced = cpu_bar_width(app)
        return first, forced, expected


class _PanelApp(App):
    """The panel alone, drawn in on_mount as the run screen draws it (before the layout),
    whatever the mode: live samples, a replay, a follow all reach it through ``show``."""

    CSS = "ResourcesPanel { width: 50; border: round white; padding: 0 1; }"

    def compose(self):
        yield ResourcesPanel(id="resources")

    def on_mount(self):
        self.state = RunState()
        self.state.on_sample(msg.SampleTaken(1.0, {"cpu_percent": (50.0, "%", None)}))
        self.drawn_at_width = self.query_one(ResourcesPanel).size.width
        self.query_one(ResourcesPanel).show(self.state)


async def test_the_panel_draws_its_bars_again_once_it_has_its_width():
    app = _PanelApp()
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.drawn_at_width == 0  # what the run screen's first draw sees
        assert app.query_one(ResourcesPanel).size.width == 46
        assert cpu_bar_width(app) == expected_bar_width(app) == 13


@pytest.mark.parametrize("size", [(120, 36), (80, 24), (160, 40)])
async def test_a_replay_opened_at_its_end_draws_the_bars_for_the_panel_s_width(replay_db, size):
    app = make_app({"theme": "edgemt-dark"}, recording=Recording(replay_db), info=FIXED_INFO, at_end=True,
                   save_theme=False)
    first, forced, expected = await first_and_forced(app, size)
    assert forced == expected
    assert first == forced, f"first frame's bar {first} cells, {forced} once redrawn"


async def test_a_finished_run_followed_draws_the_bars_for_the_panel_s_width(replay_db):
    app = make_app({"theme": "edgemt-dark"}, follower=Follower(replay_db, None), info=FIXED_INFO,
                   save_theme=False)
    first, forced, expected = await first_and_forced(app, (120, 36))
    assert forced == expected
    assert first == forced, f"first frame's bar {first} cells, {forced} once redrawn"


async def test_the_bars_follow_a_resize(replay_db):
    app = make_app({"theme": "edgemt-dark"}, recording=Recording(replay_db), info=FIXED_INFO, at_end=True,
                   save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        before = cpu_bar_width(app)
        await pilot.resize_terminal(180, 40)
        await settle(pilot)
        after = cpu_bar_width(app)
        assert after == expected_bar_width(app) and after > before
