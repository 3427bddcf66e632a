"""Errors the controller answers with one clear line, never a traceback.

``BadInput`` (exit status 2) is defined in storage/errors.py, the lowest room that raises
it, and is the same class here: the rooms above storage import it from this module.
"""
from storage.errors import BadInput  # noqa: F401 (re-exported)


class Interrupted(Exception):
    """The user stopped a wait (Ctrl-C, SIGTERM): the message says what was interrupted,
    by what, and what was kept (exit status 130)."""
