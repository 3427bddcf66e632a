"""The bottom line: the keys that do something in this mode (live, follow, replay).

One Static drawing one line of text, instead of Textual's Footer (a widget per key,
restyled and recomposed on every focus change): the Footer alone cost about a third of
the UI's time to first frame, and an SSH user needs the keys, not clickable buttons.
"""
from rich.text import Text
from textual.widgets import Static

from tui.sources import SOURCES

# what each mode can do, as its source says (tui/sources.py): a follower is read-only but
# can ask the run's own controller to stop (x); a replay only looks back
MODE_KEYS = {source.mode: source.keys for source in SOURCES}
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


ALWAYS = ("?", "q")  # kept when the line is too narrow for every key: help lists the rest


# from the roomiest layout of the hints to the tightest: (around the key, after the description)
LAYOUTS = ((" ", " "), (" ", ""), ("", " "))


def _line(hints, layout) -> Text:
    around, after = layout
    text = Text(no_wrap=True, overflow="ellipsis")
    for key, description in hints:
        text.append(f"{around}{key}{around}", style="bold reverse")
        text.append(f" {description}{after}")
    return text


def fit_hints(hints, width: int) -> Text:
    """The hints as one line of at most ``width`` cells: in the roomiest layout that fits,
    else the first hints that fit, tight, followed by help and quit."""
    for layout in LAYOUTS:
        text = _line(hints, layout)
        if text.cell_len <= width:
            return text
    keep = [h for h in hints if h[0] in ALWAYS]
    rest = [h for h in hints if h[0] not in ALWAYS]
    while rest and _line(rest + keep, LAYOUTS[-1]).cell_len > width:
        rest.pop()
    return _line(rest + keep, LAYOUTS[-1])


class KeyBar(Static):
    """One line of ``key description`` pairs; redrawn only when the mode or the width changes."""

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        dock: bottom;
    }
    """

    hints = ()

    def show_keys(self, hints: list) -> None:
        self.hints = list(hints)
        self._draw()

    def on_resize(self, event) -> None:
        self._draw()

    def _draw(self) -> None:
        text = fit_hints(self.hints, self.size.width or 80)
        if text != getattr(self, "_shown_text", None):
            self._shown_text = text
            self.update(text, layout=False)
