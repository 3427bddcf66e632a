"""The ``e`` dialog: where to write the run's CSV (default ./edgemt-run<ID>.csv)."""
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ExportScreen(ModalScreen):
    """Dismisses with the path typed (or None on escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

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
            self.query_one("#error", Static).update("give a file path")
            return
        self.dismiss(path)

    def show_error(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
