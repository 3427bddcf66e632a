"""What the UI does with its output when the terminal goes away (SIGHUP).

Once the terminal is gone, Textual's writer thread dies on the dead tty and a later draw
(or Textual's own exit, which restores the terminal) would block on its full queue. So
from then on output goes nowhere: ``silence(app)`` points fds 0-2 at /dev/null and marks
the app ``terminal_lost``, and the driver the app runs on (``quiet_driver``: the
platform's own, through Textual's public ``App.get_driver_class`` and ``Driver.write`` /
``flush``) drops every write of an app so marked. What happens to the run (stopped, or
kept with ``--keep-running``) is the app's decision (tui/app.py).
"""
import os


def quiet_driver(base: type) -> type:
    """A subclass of the Textual driver class ``base`` whose ``write`` and ``flush`` do
    nothing once its app's ``terminal_lost`` is true."""

    class QuietDriver(base):
        def __init__(self, app, *args, **kwargs):
            super().__init__(app, *args, **kwargs)
            self.owner = app

        def write(self, data: str) -> None:
            if not getattr(self.owner, "terminal_lost", False):
                super().write(data)

        def flush(self) -> None:
            if not getattr(self.owner, "terminal_lost", False):
                super().flush()

    QuietDriver.__name__ = QuietDriver.__qualname__ = f"Quiet{base.__name__}"
    return QuietDriver


def silence(app) -> None:
    """The terminal is gone: the app's output goes nowhere from now on."""
    app.terminal_lost = True
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    except OSError:
        pass
