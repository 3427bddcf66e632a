"""The key bar's hints per mode, and the events log mounted after the first frame."""
from textual.app import App

from tui.app import make_app
from tui.run_screen import RunScreen, first_key_display
from tui.widgets.events import EventsLog
from tui.widgets.keybar import KeyBar, key_hints


def hints(mode):
    app = make_app({"theme": "edgemt-dark"}, save_theme=False)
    return key_hints(RunScreen.BINDINGS, mode, lambda binding: first_key_display(app, binding))


def test_live_mode_offers_every_shown_key_with_its_symbol():
    keys = dict(hints("live"))
    assert keys == {"a": "Add", "+": "+1", "-": "-1", "m": "Move", "b": "b/2", "B": "b*2", "p": "Pause",
                    "d": "Remove", "e": "Export", "s": "Experiment", "t": "Theme", "?": "Help", "q": "Quit"}


def test_a_follower_offers_stop_and_no_commands_a_replay_neither():
    assert [k for k, _ in hints("follow")] == ["e", "t", "?", "x", "q"]
    assert ("x", "Stop run") in hints("follow")
    assert [k for k, _ in hints("replay")] == ["e", "t", "?", "q"]


async def test_the_key_bar_shows_the_hints_of_the_app_s_mode():
    app = make_app({"theme": "edgemt-dark"}, save_theme=False)  # no run: empty mode
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = str(app.query_one(KeyBar).render())
        assert "t  Theme" in text and "q  Quit" in text and "Add" not in text


class _LogApp(App):
    def compose(self):
        yield EventsLog(id="events", max_lines=3)

    def on_mount(self):
        log = self.query_one(EventsLog)
        for i in range(5):  # before the RichLog exists: kept, the last max_lines of them
            log.add(float(i), "paused", None, {"group": i})
        self.early = log.log_widget


async def test_events_added_before_the_log_is_mounted_are_written_once_it_is():
    app = _LogApp()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        await pilot.pause(0.1)
        events = app.query_one(EventsLog)
        assert app.early is None and events.log_widget is not None
        lines = [strip.text for strip in events.log_widget.lines]
        assert [line.split()[-2] for line in lines] == ["g2", "g3", "g4"]
        events.add(9.0, "resumed", None, {"group": 7})
        await pilot.pause()
        assert "g7 resumed" in events.log_widget.lines[-1].text


def test_a_narrow_key_bar_tightens_then_keeps_help_and_quit():
    from tui.widgets.keybar import fit_hints

    live = hints("live")
    wide = fit_hints(live, 200).plain
    assert " a  Add " in wide and " q  Quit " in wide
    roomy = fit_hints(live, 120).plain
    assert roomy.startswith(" a  Add +  +1 -") and roomy.endswith(" q  Quit") and len(roomy) <= 120
    tight = fit_hints(live, 100).plain
    assert tight.startswith("a Add + +1") and tight.rstrip().endswith("q Quit") and len(tight) <= 100
    narrow = fit_hints(live, 80).plain
    assert len(narrow) <= 80 and narrow.startswith("a Add") and "? Help q Quit" in narrow
    assert "Experiment" not in narrow  # what does not fit is left to the ? screen
