"""The ``e`` dialog: where to write the run's CSV (default ./edgemt-run<ID>.csv)."""
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static
from tui.screens.form import FormScreen


class ExportScreen(FormScreen):
    """Dismisses with the path typed (or None on escape)."""

    def __init__(self, default: str):
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Export the run to CSV[/] (windows joined with tenants)", classes="title")
            yield Input(value=self.default, id="path")
            yield Static("", id="error", classes="error")
            yield Static("enter writes, escape cancels", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self.show_error("give a file path")
            return
        self.dismiss(path)
