"""Standard output as edgemt writes it.

``GuardedStdout`` is sys.stdout for every command: a write error is told apart from every
other OSError (a reader that closed the pipe, ``| head``, or a full device, ``> /dev/full``,
raises OutputClosed, which tui/cli.py ends quietly). ``keep_native_writes_off_stdout`` is for
the commands that load a library with its own native logger (Ray, for ``edgemt fleet``): such
a library writes to file descriptor 1 behind Python's back, and a raylet's line glued after a
``--json`` document makes it unreadable. From then on fd 1 is stderr for everyone else, and
sys.stdout writes to a copy of the real standard output.
"""
import os
import sys

from tui.exit_codes import OutputClosed


class GuardedStdout:
    """sys.stdout whose write errors raise OutputClosed."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputClosed(exc) from None

    def flush(self):
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputClosed(exc) from None

    def replace_stream(self, stream) -> None:
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)


def keep_native_writes_off_stdout() -> None:
    """Points fd 1 at stderr for the rest of the process and sys.stdout at a duplicate of the
    real standard output: what edgemt prints stays on stdout, and what native code (or a
    process started from here) writes to fd 1 lands on stderr. Not undone: the library stays
    loaded, and writes at exit too."""
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    old = sys.stdout
    encoding = getattr(old, "encoding", None) or "utf-8"
    errors = getattr(old, "errors", None) or "strict"
    stream = os.fdopen(real, "w", buffering=1, encoding=encoding, errors=errors)
    if isinstance(old, GuardedStdout):
        old.replace_stream(stream)
    else:
        sys.stdout = GuardedStdout(stream)
