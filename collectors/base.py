"""The one collector interface: named metrics, explicit "not available", no exceptions.

A collector answers two questions. ``available()`` says once, at the first ask,
whether this board has what the collector reads, and if not, why; the answer is
cached because probing can be slow (loading NVML, connecting to the jtop
service) and because a sensor does not come and go during a run. ``sample()``
returns a flat dict of :class:`Metric`; a sensor that fails mid-run turns into
metrics whose value is ``None`` and whose ``reason`` says why, never into an
exception reaching the sampler or the UI.

Non-numeric facts (a CPU governor, a GPU name, an nvpmodel name) are not
metrics: they go in ``info()``, read when asked (the fingerprint, ``edgemt
devices``), not on every sample.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Metric:
    """One named reading; ``value is None`` means not available and ``reason`` says why."""

    name: str
    value: float | None
    unit: str
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.value is not None

    @classmethod
    def na(cls, name: str, unit: str, reason: str) -> "Metric":
        return cls(name, None, unit, reason)


@dataclass(frozen=True)
class Snapshot:
    """All metrics of all collectors at one instant of ``time.monotonic()``."""

    t: float
    metrics: Mapping[str, Metric] = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """Only the available metrics, name -> value: what storage writes as columns."""
        return {k: m.value for k, m in self.metrics.items() if m.value is not None}

    def get(self, name: str, default: float | None = None) -> float | None:
        m = self.metrics.get(name)
        return default if m is None or m.value is None else m.value


def error_reason(exc: BaseException) -> str:
    """A one-line reason from an exception: its type and its message."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class Collector:
    """Base class. Subclasses set ``name`` and implement ``_probe`` and ``_sample``.

    ``_probe`` returns ``(True, detail)`` or ``(False, reason)`` and may raise:
    an exception there becomes ``(False, reason)``. ``_sample`` returns a dict
    of metrics and may raise: an exception there turns every metric this
    collector produced last time into "not available" with the exception as
    the reason (or one ``<name>_error`` metric if it never produced any).
    """

    name: str = "collector"

    def __init__(self) -> None:
        self._availability: tuple[bool, str] | None = None
        self._probe_lock = threading.Lock()
        self._last_units: dict[str, str] = {}

    # -- availability -----------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """``(True, detail)`` or ``(False, reason)``; probed once, then cached."""
        if self._availability is None:
            with self._probe_lock:
                if self._availability is None:
                    try:
                        ok, why = self._probe()
                        self._availability = (bool(ok), str(why))
                    except Exception as exc:  # a probe must never take the caller down
                        self._availability = (False, error_reason(exc))
        return self._availability

    def _probe(self) -> tuple[bool, str]:
        return True, ""

    # -- sampling ---------------------------------------------------------
    def sample(self) -> dict[str, Metric]:
        """Current metrics; an unavailable collector returns ``{}``. Never raises."""
        ok, _ = self.available()
        if not ok:
            return {}
        try:
            metrics = self._sample()
        except Exception as exc:
            return self._failed(error_reason(exc))
        self._last_units = {k: m.unit for k, m in metrics.items()}
        return metrics

    def _sample(self) -> dict[str, Metric]:
        raise NotImplementedError

    def _failed(self, reason: str) -> dict[str, Metric]:
        if not self._last_units:
            key = f"{self.name}_error"
            return {key: Metric.na(key, "", reason)}
        return {k: Metric.na(k, u, reason) for k, u in self._last_units.items()}

    # -- facts and lifetime -----------------------------------------------
    def info(self) -> dict[str, Any]:
        """Non-numeric facts (strings, lists), JSON-serialisable. Never raises."""
        return {}

    def close(self) -> None:
        """Release what the collector holds (a subprocess, a library handle)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def read_text(path, default: str | None = None) -> str | None:
    """A small sysfs/proc file stripped, or ``default`` when it cannot be read."""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return default
