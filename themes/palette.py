"""edgemt's Textual themes: dark, light and a 16-colour ANSI one for plain terminals over SSH.

Colours live here, as Theme objects; ``edgemt.tcss`` uses only ``$variables``, so a
theme changes every colour of the UI and a stylesheet never hard-codes one.
"""
import dataclasses
from pathlib import Path

from textual.theme import Theme

TCSS = Path(__file__).with_name("edgemt.tcss")

DARK = Theme(
    name="edgemt-dark", dark=True,
    primary="#4FA3E0", secondary="#7BC47F", accent="#E0A84F",
    foreground="#D8DEE9", background="#161A20", surface="#1E232B", panel="#262C36",
    success="#7BC47F", warning="#E0C24F", error="#E0605A",
    variables={"footer-key-foreground": "#E0A84F"},
)

LIGHT = Theme(
    name="edgemt-light", dark=False,
    primary="#1F6FB2", secondary="#2E7D32", accent="#B26A00",
    foreground="#1E2329", background="#F7F7F5", surface="#ECECE8", panel="#DDDDD7",
    success="#2E7D32", warning="#9A6B00", error="#B3261E",
)

# Textual 7 added ``Theme(ansi=True)``: the app draws that theme's ansi_* colours natively.
# Textual 6.2.1, the last release for Python 3.8 (JetPack 5, Ubuntu 20.04), turns native ANSI
# on only for its own "textual-ansi" theme; the app does it for ours (ansi_color_for).
THEME_KNOWS_ANSI = "ansi" in {f.name for f in dataclasses.fields(Theme)}

# Only the 16 ANSI colours, so the terminal's own palette applies (plain SSH sessions,
# the Linux console, screen/tmux without truecolor).
ANSI = Theme(
    name="edgemt-ansi", dark=True, **({"ansi": True} if THEME_KNOWS_ANSI else {}),
    primary="ansi_blue", secondary="ansi_cyan", accent="ansi_yellow",
    foreground="ansi_default", background="ansi_default", surface="ansi_default", panel="ansi_default",
    boost="ansi_default", success="ansi_green", warning="ansi_yellow", error="ansi_red",
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "border-blurred": "ansi_bright_black",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_cyan",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-selection-background": "ansi_bright_blue",
        "input-selection-foreground": "ansi_black",
        "screen-selection-background": "ansi_bright_blue",
        "screen-selection-foreground": "ansi_black",
        "footer-key-foreground": "ansi_yellow",
    },
)

THEMES = {t.name: t for t in (DARK, LIGHT, ANSI)}
NAMES = tuple(THEMES)


def ansi_color_for(name: str):
    """What App.ansi_color must be for theme ``name`` on a Textual without Theme.ansi
    (True for the ANSI theme: otherwise its "default" colours go through a truecolor filter
    that cannot dim them); None where Textual sets it from the theme itself."""
    return None if THEME_KNOWS_ANSI else name == ANSI.name


def next_theme(name: str) -> str:
    """The theme after ``name`` in the cycle (the first one for an unknown name)."""
    if name not in THEMES:
        return NAMES[0]
    return NAMES[(NAMES.index(name) + 1) % len(NAMES)]
