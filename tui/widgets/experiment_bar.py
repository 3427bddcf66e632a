"""The one-line panel under the tenants: what the running experiment (``s``) does, how far it got."""
from textual.containers import Horizontal
from textual.widgets import Static


class ExperimentBar(Horizontal):
    """Hidden until an experiment starts; its text and progress bar are built then, so a UI
    that never runs one never pays for them (the progress bar alone is several widgets)."""

    DEFAULT_CSS = """
    ExperimentBar { height: 1; display: none; }
    ExperimentBar.running { display: block; }
    ExperimentBar > Static { width: 1fr; }
    ExperimentBar > ProgressBar { width: 40; }
    """

    text = ""  # what the line shows now (tests and the events log read it)

    def start(self, title: str, total: int) -> None:
        from textual.widgets import ProgressBar  # imported with the first experiment

        self.add_class("running")
        if not self.children:
            self.mount(Static("", id="exp-text"), ProgressBar(total=total, show_eta=False, id="exp-bar"))
        else:
            self.query_one("#exp-bar", ProgressBar).update(total=total, progress=0)
        self._say(title)

    def _say(self, text: str) -> None:
        self.text = text
        self.query_one("#exp-text", Static).update(text)

    def step(self, text: str, advance: float) -> None:
        self._say(text)
        if advance:
            self.query_one("#exp-bar").advance(advance)

    def finish(self, text: str) -> None:
        bar = self.query_one("#exp-bar")
        bar.update(progress=bar.total)
        self._say(text)
