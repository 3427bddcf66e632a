"""edgemt's Textual themes (``palette``) and stylesheet (``edgemt.tcss``)."""
from themes.palette import ANSI, DARK, LIGHT, NAMES, TCSS, THEMES, ansi_color_for, next_theme  # noqa: F401
