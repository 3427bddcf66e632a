"""The run screen: the panes of one run (tenants, experiment bar, chart, resources, events,
key bar), their layout at the terminal's size, and drawing the app's ``RunState`` on them.

It is the app's default screen (``EdgemtApp.get_default_screen``), so ``app.query_one``
still finds its panes while a form is on top. The run's lifecycle is not the screen's: the
app (tui/app.py) owns the Session, the source and the timer, and keeps the state the
messages update; the screen draws that state when asked (``refresh_view``), adds lines to
the events log (``log_event``) and lays the panes out for the terminal's size
(``apply_size``, on the app's Resize). The app mounts the panes (``panes``) as it starts,
so that they exist when its on_mount starts the run: a screen's own compose would come
later, in the screen's own task, and the first frames would not be drawn as they are.
"""
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen

from tui.widgets.chart import ThroughputChart
from tui.widgets.events import EventsLog
from tui.widgets.experiment_bar import ExperimentBar
from tui.widgets.header import RunHeader
from tui.widgets.keybar import KeyBar, key_hints
from tui.widgets.resources import ResourcesPanel
from tui.widgets.tenants import TenantsTable

# below this many columns or rows: the 80x24 layout (no chart; themes/edgemt.tcss)
COMPACT_W, COMPACT_H = 100, 30


def first_key_display(app, binding) -> str:
    """A binding's first key (``plus,equals_sign``: ``plus``) as the app displays keys (``+``)."""
    import dataclasses

    return app.get_key_display(dataclasses.replace(binding, key=binding.key.split(",")[0]))


class RunScreen(Screen):
    """The panes of the run whose ``state`` (tui/app_state.py ``RunState``) they draw, in
    the mode of ``source`` (tui/sources.py: its name for the header, its keys for the key
    bar, whether the tenants table has a board column); ``on_panes_mounted()`` is called
    once they are mounted and drawn once."""

    def __init__(self, state, source):
        super().__init__()
        self.state = state
        self.source = source
        self._shown = -1  # the state version drawn last

    def panes(self) -> ComposeResult:
        """The panes, which the app mounts on this screen as it starts (tui/app.py compose)."""
        yield RunHeader(id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                # following a fleet DB (tui/fleet_follow.py): a board column and board totals
                yield TenantsTable(id="tenants", boards=self.source.boards)
                yield ExperimentBar(id="experiment")
                yield ThroughputChart(id="chart")
            with Vertical(id="right"):
                yield ResourcesPanel(id="resources")
                yield EventsLog(id="events", max_lines=500)
        yield KeyBar(id="keys")

    def prepare(self) -> None:
        """The panes are mounted: the tenants table focused, the mode's keys on the key bar,
        the layout for the terminal's size."""
        self.query_one(TenantsTable).focus()
        self.query_one(KeyBar).show_keys(key_hints(self.app.BINDINGS, self.source.mode,
                                                   lambda b: first_key_display(self.app, b)))
        self.apply_size()

    # -- layout -------------------------------------------------------------------------------
    def _compact(self) -> bool:
        size = self.app.size
        return size.width < COMPACT_W or size.height < COMPACT_H

    def apply_size(self) -> None:
        """The full layout or the 80x24 one (``-compact``), as the terminal's size asks."""
        compact = self._compact()
        self.set_class(compact, "-compact")
        self.query_one(TenantsTable).set_compact(compact)
        self._shown = -1

    def follow_size(self) -> None:
        """Applies the size if the layout does not match it (a terminal resized before the
        first Resize reached the screen); called on the app's timer."""
        if self._compact() != self.has_class("-compact"):
            self.apply_size()

    # -- drawing ------------------------------------------------------------------------------
    def request_view_refresh(self) -> None:
        """Draws the state again even if it has not changed (a theme, the n/a reasons)."""
        self._shown = -1
        self.refresh_view()

    def refresh_view(self, force: bool = False) -> None:
        """Draws the state on the panes, if it changed since the last time (or ``force``)."""
        if not force and self._shown == self.state.version:
            return
        self._shown = self.state.version
        self.query_one(RunHeader).show(self.state, self.source.mode)
        self.query_one(TenantsTable).show(self.state.groups(), self.state.boards)
        self.query_one(ResourcesPanel).show(self.state)
        self.query_one(ThroughputChart).show(self.state)

    def log_event(self, t: float, kind: str, tenant, detail) -> None:
        """A line in the events log."""
        self.query_one(EventsLog).add(t, kind, tenant, detail)

