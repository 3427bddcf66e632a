"""The bottom line: the keys that do something in this mode (live, follow, replay).

One Static drawing one line of text, instead of Textual's Footer (a widget per key,
restyled and recomposed on every focus change): the Footer alone cost about a third of
the UI's time to first frame, and an SSH user needs the keys, not clickable buttons.
"""
from rich.text import Text
from textual.widgets import Static

# what each mode can do: a follower is read-only but can ask the run's own controller to
# stop (x); a replay only looks back
MODE_KEYS = {
    "live": None,  # every binding marked show=True
    "follow": ("export", "stop_followed", "theme", "help", "quit"),
    "replay": ("export", "theme", "help", "quit"),
    "empty": ("theme", "help", "quit"),
}
LABELS = {"stop_followed": "Stop run"}  # a binding hidden in live mode, shown while following


def _action_name(action: str) -> str:
    return action.split("(", 1)[0]


def key_hints(bindings, mode: str, key_display) -> list:
    """(key as shown, description) for each binding this mode offers, in binding order.

    ``bindings`` are Textual ``Binding``s; ``key_display(binding)`` formats a key the way
    the app does (e.g. ``plus`` as ``+``). Several keys of one binding show as the first.
    """
    wanted = MODE_KEYS.get(mode)
    hints = []
    for b in bindings:
        name = _action_name(b.action)
        if wanted is None:
            if not b.show:
                continue
        elif name not in wanted:
            continue
        hints.append((key_display(b), LABELS.get(name, b.description)))
    return hints


class KeyBar(Static):
    """One line of ``key description`` pairs; redrawn only when the mode changes."""

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        dock: bottom;
    }
    """

    def show_keys(self, hints: list) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, description in hints:
            text.append(f" {key} ", style="bold reverse")
            text.append(f" {description} ")
        if text != getattr(self, "_shown_text", None):
            self._shown_text = text
            self.update(text, layout=False)
