"""Progress of the waits before a run starts (probing environments, checking a model file).

One line on stderr, redrawn in place, shown only when stderr is a terminal and only once
a wait has lasted a second: a quick check prints nothing, and a script reading stderr
gets only edgemt's one-line answers.
"""
import sys


class TtyProgress:
    """``progress(text, elapsed_s)`` while waiting; ``done()`` clears the line."""

    def __init__(self, stream=None, after_s: float = 1.0):
        self.stream = stream if stream is not None else sys.stderr
        self.after_s = after_s
        self.shown = False
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def __call__(self, text: str, elapsed: float) -> None:
        if not self.enabled or elapsed < self.after_s:
            return
        try:
            self.stream.write(f"\r\x1b[Kedgemt: {text} ({elapsed:.0f} s; Ctrl-C stops)")
            self.stream.flush()
            self.shown = True
        except (OSError, ValueError):
            self.enabled = False

    def done(self) -> None:
        if self.shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.shown = False
