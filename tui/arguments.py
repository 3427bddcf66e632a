"""argparse for every ``edgemt`` command: one-line errors and the number types.

Shared by tui/cli.py (the top-level command) and the parsers it adds from
tui/experiments_cli.py and tui/diff_cli.py, which therefore never import tui/cli.py.
"""
import argparse

from runners import limits


class ArgumentError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one line and exit status 2 (via ArgumentError)."""

    def error(self, message):
        raise ArgumentError(f"{self.prog}: {message}")


def real_type(lo, hi, unit):
    """An argparse type: a finite ASCII decimal within [lo, hi] (runners/limits.py)."""
    def parse(text):
        try:
            return limits.real(text, lo, hi, unit)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "number"
    return parse


def whole_type(lo, hi, what="a whole number"):
    """An argparse type: a plain ASCII decimal integer within [lo, hi]."""
    def parse(text):
        try:
            return limits.whole(text, lo, hi, what)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "whole number"
    return parse


def seconds_type(lim):
    return real_type(*lim)


run_id_type = whole_type(*limits.RUN_ID, what="a run id")


def follow_type(text):
    """``--follow``: a run id (digits), else the path of a fleet DB file (``edgemt fleet run``'s)."""
    from pathlib import Path

    if (text.isascii() and text.isdigit()) or not Path(text).is_file():
        try:
            return run_id_type(text)
        except argparse.ArgumentTypeError as exc:
            if text.isascii() and text.isdigit():
                raise
            raise argparse.ArgumentTypeError(f"{str(exc).split(';')[0]} (a run id) nor a file "
                                             "(the fleet DB of edgemt fleet run)") from None
    return Path(text)
