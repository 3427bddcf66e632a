"""Protocol output of a runner child: one lock, one file, nothing else on stdout.

At startup the real stdout is duplicated for protocol lines and fd 1 is pointed at
stderr, so whatever a framework prints (C++ logging, print() in a library) lands on
stderr, never between protocol lines.
"""
import os
import sys
import threading

import wire

REASON_MAX = 300


class Emitter(object):
    """Writes protocol events; thread-safe; tolerant of a vanished reader."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    def emit(self, ev, **fields):
        obj = {"ev": ev}
        obj.update(fields)
        line = wire.encode(obj)
        with self._lock:
            if self.broken:
                return False
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True
                return False
        return True

    def emit_windows(self, windows):
        """Window event dicts (without ``ev``) in one write, as ``windows`` lines
        (wire.encode_windows)."""
        text = wire.encode_windows(windows)
        with self._lock:
            if self.broken:
                return False
            try:
                self._stream.write(text)
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True
                return False
        return True


def take_stdout():
    """An Emitter on a private copy of fd 1; fd 1 then writes to stderr."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stream = os.fdopen(proto_fd, "w", 1)
    return Emitter(stream)


def reason_of(exc):
    """``"<ExcType>: <first line of the message>"``, trimmed to REASON_MAX characters."""
    msg = str(exc).strip()
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    text = type(exc).__name__ + (": " + first if first else "")
    if len(text) > REASON_MAX:
        text = text[: REASON_MAX - 3] + "..."
    return text


class TenantFailure(Exception):
    """A failure whose message is already the whole reason (no exception type prefix)."""


def failure_reason(exc):
    if isinstance(exc, TenantFailure):
        text = str(exc).strip()
        return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3] + "..."
    return reason_of(exc)


def dist_version(name):
    """A distribution's version from its dist-info on sys.path (importlib.metadata is 3.8+),
    found without importing the package."""
    want = name.replace("-", "_").lower()
    for base in sys.path:
        try:
            entries = os.listdir(base or ".")
        except OSError:
            continue
        for e in entries:
            if e.endswith(".dist-info") and e.lower().startswith(want + "-"):
                return e[len(want) + 1 : -len(".dist-info")]
    return None
