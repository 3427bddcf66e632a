"""The exit statuses of the ``edgemt`` command, and which error ends a command with which.

One enum, one mapping: every command returns an ``ExitCode``, and ``tui/cli.py`` turns an
error that reaches it into one with ``exit_code_for``. The numbers are the ones docs/cli.md
promises to scripts; they never change.
"""
import enum
import errno
from typing import Optional

from runners.errors import BadInput, Interrupted
from tui.arguments import ArgumentError


class ExitCode(enum.IntEnum):
    """What ``edgemt`` tells the shell (docs/cli.md, "Exit status"); each code's ``__doc__``
    says when it is given."""

    def __new__(cls, value: int, doc: str):
        member = int.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member

    OK = 0, "Success."
    INTERNAL = 1, "An internal error, or standard output cannot be written (> /dev/full)."
    BAD_INPUT = 2, ("Bad input: one line names the bad value and what is accepted; nothing started, "
                    "nothing written.")
    TENANT_FAILED = 3, "The command completed, but at least one tenant failed."
    STORAGE = 4, "The DB could not be written during the run; what was written before is kept."
    # 128 + SIGINT, the shell's status of an interrupted command, whichever signal it was: a
    # script needs one test for "the user stopped it"
    STOPPED = 130, ("Stopped by the user (Ctrl-C, SIGTERM, a lost terminal); what was measured is kept, "
                    "the run is interrupted.")
    # 128 + SIGPIPE: what `yes | head -1` reports for `yes`
    PIPE_CLOSED = 141, "Standard output closed by its reader (| head); what was stored is unchanged."


class OutputClosed(Exception):
    """Standard output refused a write: its reader closed the pipe, or the device is full."""

    def __init__(self, exc: OSError):
        super().__init__(exc.strerror or str(exc))
        self.errno = exc.errno


# errors of a path the user gave that the system refuses to even look at (too long, a loop
# of links, a folder we may not enter): bad input, not an internal error
PATH_ERRNOS = (errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.ENOTDIR, errno.EISDIR, errno.EROFS)


def exit_code_for(error: BaseException) -> Optional[ExitCode]:
    """The status a command ends with when ``error`` reaches the CLI, or None for an error
    the CLI does not answer (a defect: it propagates with its traceback)."""
    if isinstance(error, (ArgumentError, BadInput)):
        return ExitCode.BAD_INPUT
    if isinstance(error, OutputClosed):
        return ExitCode.PIPE_CLOSED if error.errno == errno.EPIPE else ExitCode.INTERNAL
    if isinstance(error, BrokenPipeError):  # a pipe other than stdout (--out /dev/stdout)
        return ExitCode.PIPE_CLOSED
    if isinstance(error, (Interrupted, KeyboardInterrupt)):
        return ExitCode.STOPPED
    if isinstance(error, OSError) and error.filename is not None and error.errno in PATH_ERRNOS:
        return ExitCode.BAD_INPUT
    return None
