"""The throughput chart: total and per-placement img/s over the run's time, with vertical
marks where groups were added, stepped, moved, removed or failed.

plotext is imported only once the first frame is on screen (the plot is mounted into this
container after the first refresh), and the plot is rebuilt only when what it draws changed
(a new time slot, a slot that filled up, a new mark, a resize or a theme), never while it
is hidden (the 80x24 layout has no chart)."""
from textual.widget import Widget

MARK_COLOR = {"failed": "red", "moved": "magenta", "added": "green", "removed": "gray"}


def _plot_widget():
    from textual_plotext import PlotextPlot

    return PlotextPlot(id="chart-plot")


class ThroughputChart(Widget):
    DEFAULT_CSS = """
    ThroughputChart { layout: vertical; }
    """

    def __init__(self, lazy: bool = True, **kw):
        super().__init__(**kw)
        self.lazy = lazy
        self.plot = None
        self._state = None
        self._last = 120
        self._drawn = None  # what the plot shows now (its key)
        self.draws = 0  # plots built (tests and the bench read it)
        self._retry = False
        self._waits = 0  # looks for a laid-out plot (see _show_again)

    def compose(self):
        if not self.lazy:
            self.plot = _plot_widget()
            yield self.plot

    def on_mount(self) -> None:
        if self.lazy:
            self.call_after_refresh(self._mount_plot)

    async def _mount_plot(self) -> None:
        if self.plot is not None:
            return
        self.plot = _plot_widget()
        await self.mount(self.plot)
        self._drawn = None
        if self._state is not None:
            self.show(self._state, self._last)

    def _key(self, state, last):
        slots = state.slots
        newest = next(reversed(slots.items())) if slots else None
        newest = (newest[0], round(sum(newest[1].values()), 3), len(newest[1])) if newest else None
        mark = state.marks[-1] if state.marks else None
        return (len(slots), newest, len(state.marks), mark, last, self.plot.size, self.app.theme)

    def show(self, state, last: int = 120) -> None:
        self._state, self._last = state, last
        if self.plot is None or not self.display:
            return
        if not self.plot.size.area:  # mounted or shown again, not laid out yet
            if not self._retry:
                self._retry = True
                self.call_after_refresh(self._show_again)
            return
        key = self._key(state, last)
        if key == self._drawn:
            return
        self._drawn = key
        self.draws += 1
        plt = self.plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("throughput (img/s)")
        xs, series = state.series(last)
        if xs:
            for name, ys in series.items():
                plt.plot(xs, ys, label=name, marker="braille")
            lo = xs[0]
            for t, kind in state.marks:
                if t >= lo - 1e-6:
                    plt.vline(t, MARK_COLOR.get(kind, "yellow"))
            plt.ylim(0, max(max(series["total"]) * 1.15, 1.0))
        else:
            plt.xlim(0, 10)
            plt.ylim(0, 1)
        plt.xlabel("s")
        self.plot.refresh()

    def _show_again(self) -> None:
        self._retry = False
        if self._state is None or self.plot is None:
            return
        if self.plot.size.area:
            self.show(self._state, self._last)
        elif self.display and self._waits < 40:
            # a plot mounted beside other late mounts can be laid out a few refreshes later,
            # and its container does not resize then: look again shortly (2 s at most)
            self._waits += 1
            self._retry = True
            self.set_timer(0.05, self._show_again)

    def on_resize(self, event) -> None:
        if self._state is not None:
            self.call_after_refresh(self._show_again)
