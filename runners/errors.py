"""Errors the controller answers with one clear line (exit status 2), never a traceback."""


class BadInput(Exception):
    """The user's input is wrong: the message names the bad value and what is accepted."""


class Interrupted(Exception):
    """The user stopped a wait (Ctrl-C, SIGTERM): the message says what was interrupted,
    by what, and what was kept (exit status 130)."""
