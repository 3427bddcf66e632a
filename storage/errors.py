"""The error the controller answers with one clear line (exit status 2), never a traceback.

Defined here, in the lowest room that refuses input (a DB that is not edgemt's, a run that
is not in it, a path that cannot be written), so that storage needs nothing above it;
``runners.errors`` re-exports it for the rooms above (one class, caught once by the CLI).
"""


class BadInput(Exception):
    """The user's input is wrong: the message names the bad value and what is accepted."""
