"""edgemt's Textual themes (``palette``) and stylesheet (``edgemt.tcss``)."""
from themes.palette import ANSI, DARK, LIGHT, NAMES, TCSS, THEMES, next_theme  # noqa: F401
