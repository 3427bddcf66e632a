"""Every number a user can give edgemt, its range, and the one way each kind is parsed.

The command line (tui/cli.py, tui/experiments_cli.py), SPECs (runners/spec.py) and
config.toml (runners/config.py) all parse through here, so a number means the same
wherever it is typed and no form nobody meant slips through:

- whole numbers are plain ASCII decimal digits with an optional leading minus sign
  (``1_0``, full-width ``２``, ``0x10``, ``2.0`` and ``1e2`` are refused: Python's ``int()``
  would take the first two silently);
- real numbers are ASCII decimals with an optional exponent (``nan``, ``inf``,
  ``infinity``, ``1_0`` and values that overflow to infinity are refused);
- every number has a finite range, documented in docs/cli.md and checked before anything
  starts. A window of 1e-9 s marked healthy tenants as hung, one of 3600 s never ended a
  10 s run, a sampling rate of 1e9 Hz was a busy loop, threads=100000 crashed the runtime.

Problems are ``ValueError`` with the text after the value's name (callers prefix the
flag, SPEC key or config key): ``'1e-9' is out of range; give seconds from 0.1 to 60``.
"""
import math
import os
import re

# (lowest, highest, unit): both ends included
WINDOW_S = (0.1, 60.0, "seconds")  # the hang watchdog allows 3 windows; windows line up on one grid
DURATION_S = (0.1, 7 * 86400.0, "seconds")  # a week: longer is a typo (or a run for a soak harness)
MAX_DURATION_S = (1.0, 7 * 86400.0, "seconds")
COOLDOWN_S = (0.0, 3600.0, "seconds")
# edgemt run --measure-at: an epoch second (the Unix clock); more than a day ahead is a typo
MEASURE_AT = (0.0, 1e11, "seconds since 1970-01-01 UTC")
MEASURE_AHEAD_S = 86400.0
# a fleet plan's warmup (sync_start): seconds from the boards' start to their measured phase
WARMUP_S = (0.0, 3600.0, "seconds")
SAMPLE_HZ = (0.01, 100.0, "samples a second")  # sensors answer in ms; more is a busy loop
P99_MS = (0.001, 1e6, "milliseconds")
SPEED = (0.0, 1000.0, "as a factor")  # replay; 0 jumps to the end
BATCH = (1, 4096)
SIZE = (32, 2048)
STEP = (1, 256)  # the UI's larger concurrency step
REPEAT = (1, 100)
LEVEL = (1, 4096)  # concurrency levels of sweeps, dmp, tune (the thread isolation cap)
BUDGET = (1, 10000)
RUN_ID = (1, 2 ** 63 - 1)  # SQLite's INTEGER PRIMARY KEY
THREADS_PER_CORE = 4  # intra-op threads beyond 4 a core only contend; 100000 crashed TFLite

_INT_RE = re.compile(r"-?[0-9]+\Z")
_FLOAT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def cores() -> int:
    """The CPU cores this process may use (a container's or taskset's share, not the board's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_range(n_cores: int = None) -> tuple:
    n = n_cores or cores()
    return 1, THREADS_PER_CORE * n


def _fmt(x) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def whole(text, lo: int, hi: int, what: str = "a whole number") -> int:
    """A plain ASCII decimal integer within [lo, hi]."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str) and _INT_RE.match(text.strip()):
        value = int(text.strip())
    else:
        raise ValueError(f"{text!r} is not a whole number; give {what} from {lo} to {hi}")
    if not lo <= value <= hi:
        raise ValueError(f"{text!r} is out of range; give {what} from {lo} to {hi}")
    return value


def real(text, lo: float, hi: float, unit: str, positive: bool = False) -> float:
    """A finite ASCII decimal number within [lo, hi] (``positive``: and > 0, for lo == 0)."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a number; give {unit} from {_fmt(lo)} to {_fmt(hi)}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = str(text).strip()
        if not _FLOAT_RE.match(raw):
            word = "a finite number" if raw.lower().lstrip("+-") in ("nan", "inf", "infinity") else "a number"
            raise ValueError(f"{text!r} is not {word}; give {unit} from {_fmt(lo)} to {_fmt(hi)}")
        value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number; give {unit} from {_fmt(lo)} to {_fmt(hi)}")
    if value <= 0 and (positive or lo > 0):
        raise ValueError(f"{text!r} is not positive; give {unit} from {_fmt(lo)} to {_fmt(hi)}")
    if not lo <= value <= hi:
        raise ValueError(f"{text!r} is out of range; give {unit} from {_fmt(lo)} to {_fmt(hi)}")
    return value


def seconds(text, limits=WINDOW_S) -> float:
    lo, hi, unit = limits
    return real(text, lo, hi, unit)
