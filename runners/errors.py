"""Errors the controller answers with one clear line (exit status 2), never a traceback."""


class BadInput(Exception):
    """The user's input is wrong: the message names the bad value and what is accepted."""
