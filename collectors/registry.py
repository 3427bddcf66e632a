"""Which collectors a board might have, and a listing of what each found.

``default_collectors`` builds every collector edgemt knows; each probes its own
availability, so the same list works on a laptop, a Jetson and a Raspberry Pi.
Every path a collector reads is a keyword argument here, passed through.
"""
from __future__ import annotations

from typing import Iterable

from .base import Collector
from .host import HostCollector


def default_collectors(sysfs_root: str = "/sys", **paths) -> list[Collector]:
    """Every collector this board might have, each probing its own availability.

    Keywords: ``sysfs_root`` and the per-collector paths and objects documented
    in docs/collectors.md (``proc_root``, ``tegrastats``, ``vcgencmd``,
    ``jtop_factory``, ``pynvml``, ``ina219``: a dict of INA219 settings or
    ``False`` to leave it out).
    """
    cols: list[Collector] = [HostCollector(sysfs_root=sysfs_root)]
    return cols


def describe(collectors: Iterable[Collector]) -> list[tuple[str, bool, str]]:
    """``(name, available, detail or reason)`` for each collector, for ``edgemt devices``."""
    rows = []
    for c in collectors:
        ok, why = c.available()
        rows.append((c.name, ok, why))
    return rows
