"""The throughput chart: total and per-placement img/s over the run's time, with vertical
marks where groups were added, stepped, moved, removed or failed."""
from textual_plotext import PlotextPlot

MARK_COLOR = {"failed": "red", "moved": "magenta", "added": "green", "removed": "gray"}


class ThroughputChart(PlotextPlot):
    def show(self, state, last: int = 120) -> None:
        plt = self.plt
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
        self.refresh()
