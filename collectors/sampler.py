"""One thread that samples every collector at a fixed rate on ``time.monotonic()``.

The monotonic clock is the one runner windows are stamped with, so a snapshot
and a throughput window line up without conversion. Ticks are scheduled on an
absolute grid (``epoch + k/hz``; ``epoch`` the run's start, the origin of the
runner windows' grid too) so sampling does not drift; when a sample takes
longer than a period (a slow sensor), missed ticks are skipped, not bunched.

What a snapshot describes: it is stamped when its reads start. Gauges (power,
temperature, memory) are the value then; CPU % and IO rates are deltas since
the snapshot before, i.e. they describe ``(t_previous, t]``. Readers weigh each
sample by that interval (``storage.aggregate.sample_means``), and with the
ticks on the windows' grid (a window a whole number of periods) each interval
lies inside one window.

Snapshots are immutable. The thread only appends to a bounded deque and swaps
``latest`` under a lock, then hands the snapshot to ``on_snapshot``; a callback
that raises is logged and sampling goes on.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable, Iterable

from .base import Collector, Metric, Snapshot

log = logging.getLogger(__name__)


def merge(parts: Iterable[dict[str, Metric]]) -> dict[str, Metric]:
    """Merge collectors' metrics; the first *available* reading of a name wins.

    Two collectors may both speak for a name (``power_w`` from jtop and from an
    INA219): the one listed first is preferred, a later one fills in only where
    the earlier one has no value.
    """
    out: dict[str, Metric] = {}
    for part in parts:
        for k, m in part.items():
            old = out.get(k)
            if old is None or (old.value is None and m.value is not None):
                out[k] = m
    return out


class Sampler:
    """Samples ``collectors`` ``hz`` times a second in one daemon thread."""

    def __init__(self, collectors: Iterable[Collector], hz: float = 2.0,
                 on_snapshot: Callable[[Snapshot], None] | None = None,
                 history: int = 600, clock: Callable[[], float] = time.monotonic,
                 epoch: float | None = None) -> None:
        if hz <= 0:
            raise ValueError(f"hz must be positive, got {hz!r}")
        self.collectors = list(collectors)
        self.hz = float(hz)
        self.on_snapshot = on_snapshot
        self._clock = clock
        self.epoch = epoch  # origin of the tick grid (None: the first tick is at start)
        self._lock = threading.Lock()
        self._history: collections.deque[Snapshot] = collections.deque(maxlen=history)
        self._latest: Snapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples_taken = 0
        self._cpu_s = 0.0  # CPU time the sampling thread has used (its own clock, ns resolution)

    # -- one sample -------------------------------------------------------
    def sample_once(self) -> Snapshot:
        """Sample every available collector now, record and return the snapshot."""
        t = self._clock()
        parts = []
        for c in self.collectors:
            try:
                parts.append(c.sample())
            except Exception as exc:  # Collector.sample never raises; a subclass might
                key = f"{getattr(c, 'name', type(c).__name__)}_error"
                parts.append({key: Metric.na(key, "", f"{type(exc).__name__}: {exc}")})
        snap = Snapshot(t, merge(parts))
        with self._lock:
            self._history.append(snap)
            self._latest = snap
            self.samples_taken += 1
        if self.on_snapshot is not None:
            try:
                self.on_snapshot(snap)
            except Exception:
                log.exception("on_snapshot callback failed; sampling goes on")
        return snap

    # -- thread -----------------------------------------------------------
    def _run(self) -> None:
        for c in self.collectors:  # probe in the thread: NVML or jtop can take a moment
            c.available()
        period = 1.0 / self.hz
        now = self._clock()
        next_t = now if self.epoch is None else next_tick(now, self.epoch, period)
        if next_t > now and self._stop.wait(next_t - now):
            return
        cpu0 = time.thread_time()
        while not self._stop.is_set():
            self.sample_once()
            self._cpu_s = time.thread_time() - cpu0
            next_t += period
            now = self._clock()
            if next_t < now:  # fell behind: skip the missed ticks
                next_t = now + period - ((now - next_t) % period)
            if self._stop.wait(next_t - now):
                break

    def start(self) -> "Sampler":
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="edgemt-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self, close: bool = False) -> None:
        """Stop and join the thread; ``close=True`` also closes every collector."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if close:
            for c in self.collectors:
                try:
                    c.close()
                except Exception:
                    log.exception("closing collector %r failed", c)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds the sampling thread has spent sampling since it started (probes excluded)."""
        return self._cpu_s

    # -- reading ----------------------------------------------------------
    @property
    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._latest

    def history(self, n: int | None = None) -> list[Snapshot]:
        """The last ``n`` snapshots (all kept ones when ``n`` is None), oldest first."""
        with self._lock:
            items = list(self._history)
        return items if n is None else items[-n:] if n > 0 else []


def next_tick(now: float, epoch: float, period: float) -> float:
    """The first tick of the grid ``epoch + k * period`` at or after ``now``."""
    k = -(-(now - epoch) // period)  # ceil
    return epoch + max(0.0, k) * period


from .registry import default_collectors, describe  # noqa: E402  (re-exported API)

__all__ = ["Sampler", "merge", "next_tick", "default_collectors", "describe"]
