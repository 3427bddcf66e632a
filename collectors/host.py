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


def _sum_times(per_cpu):
    """The whole machine's cpu_times as the field-wise sum of the cores'."""
    t = per_cpu[0]
    return type(t)(*(sum(x) for x in zip(*per_cpu)))


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

    def __init__(self, sysfs_root: str | os.PathLike = "/sys", proc_root: str | os.PathLike = "/proc",
                 pid: int | None = None, slow_interval_s: float = 0.5,
                 clock=time.monotonic) -> None:
        super().__init__()
        self.sysfs_root = Path(sysfs_root)
        self.proc_root = Path(proc_root)
        self.pid = os.getpid() if pid is None else pid
        self._clock = clock
        self._psutil = None
        self._proc = None
        self._prev: dict[str, Any] = {}
        self._disks: list[str] | None = None
        self.slow_interval_s = slow_interval_s
        self._slow: dict[str, Metric] = {}
        self._slow_t = 0.0
        self._slow_io: tuple[float, int, int] | None = None

    # -- probe ------------------------------------------------------------
    def _probe(self) -> tuple[bool, str]:
        try:
            import psutil
        except ImportError as exc:
            return False, f"psutil is not installed ({exc})"
        self._psutil = psutil
        self._proc = psutil.Process(self.pid)
        self._prev = self._read_counters()
        self._read_slow(self._prev["t"])
        return True, f"psutil {psutil.__version__}, {psutil.cpu_count()} CPUs"

    # -- counters ---------------------------------------------------------
    _MEMINFO_KEYS = (b"MemTotal", b"MemFree", b"MemAvailable", b"SwapTotal", b"SwapFree")

    def _meminfo(self) -> dict[str, int]:
        """The few ``/proc/meminfo`` fields used, in bytes (found by search, not by
        parsing all ~50 lines: this runs at the sampling rate)."""
        with open(self.proc_root / "meminfo", "rb") as f:
            data = b"\n" + f.read()
        out = {}
        for key in self._MEMINFO_KEYS:
            i = data.find(b"\n" + key + b":")
            if i >= 0:
                j = data.find(b"\n", i + 1)
                out[key.decode()] = int(data[i + len(key) + 2:j].split()[0]) * 1024
        return out

    def _diskstats(self) -> dict[str, tuple[int, int]]:
        """``/proc/diskstats``: device -> (bytes read, bytes written).

        The kernel counts these sectors in 512-byte units whatever the device's
        sector size (Documentation/admin-guide/iostats.rst). One file, where
        psutil's disk_io_counters also opens a sysfs file per device.
        """
        out = {}
        with open(self.proc_root / "diskstats", "rb") as f:
            for line in f:
                p = line.split()
                if len(p) >= 10:
                    out[p[2].decode()] = (int(p[5]) * 512, int(p[9]) * 512)
        return out

    def _own_cpu(self) -> float:
        """CPU seconds of the watched process: os.times() for this one (no file to read)."""
        if self.pid == os.getpid():
            t = os.times()
            return t.user + t.system
        t = self._proc.cpu_times()
        return t.user + t.system

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
        # One read of /proc/stat: the total is the sum of the cores. Counters are
        # read raw (no psutil "nowrap" bookkeeping, which costs more than the read);
        # a counter that goes backwards is treated as reset, not as a negative rate.
        for key, fn in (
            ("percpu", lambda: ps.cpu_times(percpu=True)),
            ("disk", self._diskstats),
            ("net", lambda: ps.net_io_counters(pernic=True, nowrap=False)),
            ("proc_cpu", self._own_cpu),
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
        why = bad("percpu")
        if why is None:
            put("cpu_percent", _pct(_sum_times(prev["percpu"]), _sum_times(cur["percpu"])), "%",
                "no time elapsed")
            for i, (a, b) in enumerate(zip(prev["percpu"], cur["percpu"])):
                put(f"cpu{i}_percent", _pct(a, b), "%", "no time elapsed")
        else:
            put("cpu_percent", None, "%", why)

        # memory and swap: one read of /proc/meminfo (psutil's swap_memory also
        # reads /proc/vmstat, which costs more than all the rest of a sample)
        try:
            mi = self._meminfo()
            total, avail = mi["MemTotal"], mi.get("MemAvailable", mi["MemFree"])
            put("mem_total_mb", total / MB, "MB")
            put("mem_used_mb", (total - avail) / MB, "MB")
            put("mem_available_mb", avail / MB, "MB")
            put("mem_percent", 100.0 * (total - avail) / total if total else None, "%")
            st, sf = mi.get("SwapTotal", 0), mi.get("SwapFree", 0)
            put("swap_used_mb", (st - sf) / MB, "MB")
            put("swap_percent", 100.0 * (st - sf) / st if st else 0.0, "%")
        except Exception as exc:
            for n in ("mem_total_mb", "mem_used_mb", "mem_available_mb", "swap_used_mb"):
                put(n, None, "MB", error_reason(exc))
            put("mem_percent", None, "%", error_reason(exc))
            put("swap_percent", None, "%", error_reason(exc))

        # disk IO per whole device and in total
        why = bad("disk")
        if why is None and dt > 0:
            tot_r = tot_w = 0.0
            for dev in self._block_devices(cur["disk"].keys()):
                a, b = prev["disk"].get(dev), cur["disk"].get(dev)
                if a is None or b is None:
                    continue
                r = max(0, b[0] - a[0]) / dt
                w = max(0, b[1] - a[1]) / dt
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
                rx += max(0, b.bytes_recv - a.bytes_recv)
                tx += max(0, b.bytes_sent - a.bytes_sent)
            put("net_recv_bytes_s", rx / dt, "B/s")
            put("net_sent_bytes_s", tx / dt, "B/s")
        else:
            put("net_recv_bytes_s", None, "B/s", why or "no time elapsed")
            put("net_sent_bytes_s", None, "B/s", why or "no time elapsed")

        # Slow-moving figures (CPU frequency, the controller's RSS and IO) are
        # read at most every ``slow_interval_s``: each read opens more files than
        # everything above together, and at the default 2 Hz they are fresh on
        # every sample anyway. Between reads the last values are repeated.
        now = cur["t"]
        if not self._slow or now - self._slow_t >= self.slow_interval_s:
            self._read_slow(now)
        out.update(self._slow)

        # the controller itself
        why = bad("proc_cpu")
        if why is None and dt > 0:
            put("controller_cpu_percent", 100.0 * (cur["proc_cpu"] - prev["proc_cpu"]) / dt, "%")
        else:
            put("controller_cpu_percent", None, "%", why or "no time elapsed")
        return out

    def _read_slow(self, now: float) -> None:
        ps = self._psutil
        slow: dict[str, Metric] = {}
        try:
            f = ps.cpu_freq()
            slow["cpu_freq_mhz"] = Metric("cpu_freq_mhz", float(f.current), "MHz") if f is not None \
                and f.current else Metric.na("cpu_freq_mhz", "MHz",
                                             "the kernel exposes no CPU frequency (no cpufreq)")
        except Exception as exc:
            slow["cpu_freq_mhz"] = Metric.na("cpu_freq_mhz", "MHz", error_reason(exc))
        try:
            slow["controller_rss_mb"] = Metric("controller_rss_mb", self._proc.memory_info().rss / MB, "MB")
        except Exception as exc:
            slow["controller_rss_mb"] = Metric.na("controller_rss_mb", "MB", error_reason(exc))
        names = ("controller_read_bytes_s", "controller_write_bytes_s")
        try:
            io = self._proc.io_counters()
            prev = self._slow_io
            self._slow_io = (now, io.read_bytes, io.write_bytes)
            if prev is None or now <= prev[0]:
                for n in names:
                    slow[n] = Metric.na(n, "B/s", "no previous reading")
            else:
                dt = now - prev[0]
                slow[names[0]] = Metric(names[0], max(0, io.read_bytes - prev[1]) / dt, "B/s")
                slow[names[1]] = Metric(names[1], max(0, io.write_bytes - prev[2]) / dt, "B/s")
        except Exception as exc:
            for n in names:
                slow[n] = Metric.na(n, "B/s", error_reason(exc))
        self._slow, self._slow_t = slow, now

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
