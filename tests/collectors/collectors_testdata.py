"""Where the captured board data lives, and how to read a captured tegrastats line."""
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "collectors"


def captured_line(name: str) -> str:
    """The captured line of a data file: the first line that is not a '# source' header."""
    lines = (DATA / "tegrastats" / name).read_text().splitlines()
    return next(x for x in lines if x.strip() and not x.startswith("#"))
