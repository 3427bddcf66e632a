"""Which collectors a board might have, and a listing of what each found.

``default_collectors`` builds every collector edgemt knows; each probes its own
availability, so the same list works on a laptop, a Jetson and a Raspberry Pi.
Every path a collector reads is a keyword argument here, passed through.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from .base import Collector
from .edgetpu import EdgeTpuCollector
from .host import HostCollector
from .ina219 import Ina219Collector
from .jetson import JetsonCollector
from .nvml import NvmlCollector
from .tegrastats import TegrastatsCollector
from .throttle import ThrottleCollector


def default_collectors(sysfs_root: str = "/sys", debugfs_root: str = "/sys/kernel/debug",
                       tegrastats: str = "tegrastats", vcgencmd: str | None = "vcgencmd",
                       jtop_factory: Callable[..., Any] | None = None, pynvml: Any = None,
                       ina219: dict[str, Any] | bool = True,
                       interval_s: float = 0.5) -> list[Collector]:
    """Every collector this board might have, each probing its own availability.

    Order matters where two collectors report the same name (``power_w``,
    ``cpu0_percent``): the sampler keeps the first available value, so host
    comes first, jtop before its tegrastats fallback, both before an INA219.
    ``ina219``: keyword arguments for :class:`Ina219Collector` (``shunt_ohms``,
    ``max_expected_amps``, ``address``, ``busnum``, ``ina219_class``), or
    ``False`` to leave the sensor out.
    """
    jetson = JetsonCollector(jtop_factory=jtop_factory, interval=interval_s)
    cols: list[Collector] = [
        HostCollector(sysfs_root=sysfs_root),
        NvmlCollector(pynvml=pynvml),
        jetson,
        TegrastatsCollector(command=tegrastats, interval_ms=int(interval_s * 1000), prefer=jetson),
    ]
    if ina219 is not False:
        cols.append(Ina219Collector(**(ina219 if isinstance(ina219, dict) else {})))
    cols += [
        EdgeTpuCollector(sysfs_root=sysfs_root, debugfs_root=debugfs_root),
        ThrottleCollector(sysfs_root=sysfs_root, vcgencmd=vcgencmd),
    ]
    return cols


def describe(collectors: Iterable[Collector]) -> list[tuple[str, bool, str]]:
    """``(name, available, detail or reason)`` for each collector, for ``edgemt devices``."""
    rows = []
    for c in collectors:
        ok, why = c.available()
        rows.append((c.name, ok, why))
    return rows
