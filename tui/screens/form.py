"""What the UI's modal forms share (add, move, experiment, export): escape cancels, an
OK / Cancel button row, and one line under the fields for what is wrong."""
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class FormScreen(ModalScreen):
    """A form that dismisses with what ``submit`` makes of its fields, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @staticmethod
    def buttons(ok_label: str) -> Horizontal:
        """The button row, to yield from ``compose`` (OK has id ``ok``)."""
        return Horizontal(Button(ok_label, variant="primary", id="ok"), Button("Cancel", id="cancel"),
                          classes="buttons")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        raise NotImplementedError

    def show_error(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
