"""Host metrics through psutil: CPU, memory, swap, disk and network rates, CPU
frequency, and the controller's own CPU, memory and IO.

Rates (percentages of CPU time, bytes per second) are deltas between two
consecutive samples of cumulative counters, so they describe the interval
since the previous sample. The probe takes the first reading, so even the
first sample has a delta. CPU percentages are computed from ``cpu_times``
rather than ``psutil.cpu_percent()``, whose hidden module-global state would be
shared with (and disturbed by) any other caller in the process.

The controller's own figures (``controller_*``) let a reader subtract the
measuring tool's interference from the host totals.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .base import Collector, Metric, error_reason, read_text

MB = 1024 * 1024

# Block devices that are not storage: excluded from per-device and total IO.
_SKIP_DISK_PREFIXES = ("loop", "ram", "fd", "sr")
# Stacked devices whose IO is also counted on the disks below them: shown per
# device, left out of the totals so nothing is counted twice.
_STACKED_PREFIXES = ("dm-", "md")


def _busy_total(t) -> tuple[float, float]:
    """(busy, total) seconds of one psutil cpu_times tuple, as psutil itself counts them."""
    total = sum(t)
    # On Linux guest time is already inside user/nice.
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return total - idle, total


def _pct(prev, cur) -> float | None:
    b0, t0 = _busy_total(prev)
    b1, t1 = _busy_total(cur)
    dt = t1 - t0
    if dt <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * (b1 - b0) / dt))


class HostCollector(Collector):
    """CPU, memory, swap, disks, network, CPU frequency, and the controller's own use."""

    name = "host"

    def __init__(self, sysfs_root: str | os.PathLike = "/sys", pid: int | None = None,
                 clock=time.monotonic) -> None:
        super().__init__()
        self.sysfs_root = Path(sysfs_root)
        self.pid = os.getpid() if pid is None else pid
        self._clock = clock
        self._psutil = None
        self._proc = None
        self._prev: dict[str, Any] = {}
        self._disks: list[str] | None = None

    # -- probe ------------------------------------------------------------
    def _probe(self) -> tuple[bool, str]:
        try:
            import psutil
        except ImportError as exc:
            return False, f"psutil is not installed ({exc})"
        self._psutil = psutil
        self._proc = psutil.Process(self.pid)
        self._prev = self._read_counters()
        return True, f"psutil {psutil.__version__}, {psutil.cpu_count()} CPUs"

    # -- counters ---------------------------------------------------------
    def _block_devices(self, names) -> list[str]:
        """Whole storage devices: names under <sysfs>/block, minus loop/ram devices.

        psutil also lists partitions; they would count every byte twice.
        """
        if self._disks is None:
            block = self.sysfs_root / "block"
            try:
                whole = {p.name for p in block.iterdir()}
            except OSError:
                whole = None  # no sysfs: keep what psutil gives
            self._disks = sorted(
                n for n in names
                if (whole is None or n in whole) and not n.startswith(_SKIP_DISK_PREFIXES))
        return self._disks

    def _read_counters(self) -> dict[str, Any]:
        ps = self._psutil
        c: dict[str, Any] = {"t": self._clock()}
        for key, fn in (
            ("cpu", lambda: ps.cpu_times()),
            ("percpu", lambda: ps.cpu_times(percpu=True)),
            ("disk", lambda: ps.disk_io_counters(perdisk=True, nowrap=True)),
            ("net", lambda: ps.net_io_counters(pernic=True, nowrap=True)),
            ("proc_cpu", lambda: self._proc.cpu_times()),
            ("proc_io", lambda: self._proc.io_counters()),
        ):
            try:
                c[key] = fn()
            except Exception as exc:
                c[key] = exc
        return c

    # -- sample -----------------------------------------------------------
    def _sample(self) -> dict[str, Metric]:
        ps = self._psutil
        prev, cur = self._prev, self._read_counters()
        self._prev = cur
        dt = cur["t"] - prev["t"]
        out: dict[str, Metric] = {}

        def put(name, value, unit, reason=None):
            out[name] = Metric(name, None if value is None else float(value), unit,
                               None if value is not None else (reason or "not available"))

        def bad(key) -> str | None:
            for c in (prev.get(key), cur.get(key)):
                if isinstance(c, Exception):
                    return error_reason(c)
            if prev.get(key) is None:
                return "no previous reading"
            return None

        # CPU, total and per core
        why = bad("cpu")
        put("cpu_percent", None if why else _pct(prev["cpu"], cur["cpu"]), "%", why or "no time elapsed")
        why = bad("percpu")
        if why is None:
            for i, (a, b) in enumerate(zip(prev["percpu"], cur["percpu"])):
                put(f"cpu{i}_percent", _pct(a, b), "%", "no time elapsed")

        # memory and swap
        try:
            vm = ps.virtual_memory()
            put("mem_total_mb", vm.total / MB, "MB")
            put("mem_used_mb", (vm.total - vm.available) / MB, "MB")
            put("mem_available_mb", vm.available / MB, "MB")
            put("mem_percent", vm.percent, "%")
        except Exception as exc:
            for n in ("mem_total_mb", "mem_used_mb", "mem_available_mb"):
                put(n, None, "MB", error_reason(exc))
            put("mem_percent", None, "%", error_reason(exc))
        try:
            sw = ps.swap_memory()
            put("swap_used_mb", sw.used / MB, "MB")
            put("swap_percent", sw.percent, "%")
        except Exception as exc:
            put("swap_used_mb", None, "MB", error_reason(exc))
            put("swap_percent", None, "%", error_reason(exc))

        # disk IO per whole device and in total
        why = bad("disk")
        if why is None and dt > 0:
            tot_r = tot_w = 0.0
            for dev in self._block_devices(cur["disk"].keys()):
                a, b = prev["disk"].get(dev), cur["disk"].get(dev)
                if a is None or b is None:
                    continue
                r = (b.read_bytes - a.read_bytes) / dt
                w = (b.write_bytes - a.write_bytes) / dt
                put(f"disk_{dev}_read_bytes_s", r, "B/s")
                put(f"disk_{dev}_write_bytes_s", w, "B/s")
                if not dev.startswith(_STACKED_PREFIXES):
                    tot_r += r
                    tot_w += w
            put("disk_read_bytes_s", tot_r, "B/s")
            put("disk_write_bytes_s", tot_w, "B/s")
        else:
            put("disk_read_bytes_s", None, "B/s", why or "no time elapsed")
            put("disk_write_bytes_s", None, "B/s", why or "no time elapsed")

        # network, all interfaces but loopback
        why = bad("net")
        if why is None and dt > 0:
            rx = tx = 0
            for nic, b in cur["net"].items():
                a = prev["net"].get(nic)
                if a is None or nic == "lo":
                    continue
                rx += b.bytes_recv - a.bytes_recv
                tx += b.bytes_sent - a.bytes_sent
            put("net_recv_bytes_s", rx / dt, "B/s")
            put("net_sent_bytes_s", tx / dt, "B/s")
        else:
            put("net_recv_bytes_s", None, "B/s", why or "no time elapsed")
            put("net_sent_bytes_s", None, "B/s", why or "no time elapsed")

        # CPU frequency (average over cores)
        try:
            f = ps.cpu_freq()
            if f is None or not f.current:
                put("cpu_freq_mhz", None, "MHz", "the kernel exposes no CPU frequency (no cpufreq)")
            else:
                put("cpu_freq_mhz", f.current, "MHz")
        except Exception as exc:
            put("cpu_freq_mhz", None, "MHz", error_reason(exc))

        # the controller itself
        why = bad("proc_cpu")
        if why is None and dt > 0:
            a, b = prev["proc_cpu"], cur["proc_cpu"]
            used = (b.user + b.system) - (a.user + a.system)
            put("controller_cpu_percent", 100.0 * used / dt, "%")
        else:
            put("controller_cpu_percent", None, "%", why or "no time elapsed")
        try:
            put("controller_rss_mb", self._proc.memory_info().rss / MB, "MB")
        except Exception as exc:
            put("controller_rss_mb", None, "MB", error_reason(exc))
        why = bad("proc_io")
        if why is None and dt > 0:
            a, b = prev["proc_io"], cur["proc_io"]
            put("controller_read_bytes_s", (b.read_bytes - a.read_bytes) / dt, "B/s")
            put("controller_write_bytes_s", (b.write_bytes - a.write_bytes) / dt, "B/s")
        else:
            put("controller_read_bytes_s", None, "B/s", why or "no time elapsed")
            put("controller_write_bytes_s", None, "B/s", why or "no time elapsed")
        return out

    # -- facts ------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        cpu = self.sysfs_root / "devices/system/cpu"
        govs = {}
        try:
            for d in sorted(cpu.glob("cpu[0-9]*")):
                g = read_text(d / "cpufreq/scaling_governor")
                if g:
                    govs[d.name] = g
        except OSError:
            pass
        distinct = sorted(set(govs.values()))
        info: dict[str, Any] = {
            "cpu_governor": distinct[0] if len(distinct) == 1 else (distinct or None),
            "disks": list(self._disks or []),
        }
        try:
            import psutil
            info["cpu_count"] = psutil.cpu_count()
            info["cpu_count_physical"] = psutil.cpu_count(logical=False)
            info["mem_total_mb"] = round(psutil.virtual_memory().total / MB, 1)
        except Exception:
            pass
        return info
