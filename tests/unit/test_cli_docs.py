"""docs/cli.md documents every command and option the parser has."""
import argparse
from pathlib import Path

from tui.cli import build_parser, walk_parsers

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_command_and_option_is_documented():
    text = DOC.read_text()
    missing = []
    for path, parser in walk_parsers(build_parser(), ["edgemt"]):
        if f"## `{' '.join(path)}`" not in text:
            missing.append(" ".join(path))
        for action in parser._actions:
            for opt in action.option_strings:
                if action.help != argparse.SUPPRESS and opt not in text:
                    missing.append(f"{' '.join(path)} {opt}")
    assert not missing, f"not in docs/cli.md (run docs/make_cli_md.py): {missing}"
