"""NVIDIA desktop and server GPUs through NVML (package nvidia-ml-py, module ``pynvml``).

``pynvml`` is imported when availability is probed, never at import time. Any
NVML error while probing (``NVMLError_LibraryNotFound`` on a machine without
the driver, ``NVMLError_DriverNotLoaded``...) makes the collector "not
available" with NVML's own message. A single query a GPU does not support
(power on some boards) is n/a for that metric alone.
"""
from __future__ import annotations

from typing import Any

from .base import Collector, Metric, error_reason

MB = 1024 * 1024

# Clock-event reasons that are not throttling: the GPU is idle, or the user
# pinned application clocks. Everything else (power cap, thermal slowdown,
# hardware slowdown, sync boost) means the GPU runs slower than it could.
_BENIGN_REASONS = ("nvmlClocksThrottleReasonGpuIdle", "nvmlClocksEventReasonGpuIdle",
                   "nvmlClocksThrottleReasonApplicationsClocksSetting",
                   "nvmlClocksEventReasonApplicationsClocksSetting",
                   "nvmlClocksThrottleReasonNone", "nvmlClocksEventReasonNone")


class NvmlCollector(Collector):
    """Per GPU: utilisation, memory, power, temperature, SM and memory clocks, throttling."""

    name = "nvml"

    def __init__(self, pynvml: Any = None) -> None:
        """``pynvml``: the module to use (default: ``import pynvml`` at probe time)."""
        super().__init__()
        self._nv = pynvml
        self._handles: list[Any] = []
        self._names: list[str] = []
        self._benign_mask = 0
        self._inited = False

    def _probe(self) -> tuple[bool, str]:
        nv = self._nv
        if nv is None:
            try:
                import pynvml as nv
            except ImportError as exc:
                return False, f"nvidia-ml-py is not installed ({exc})"
            self._nv = nv
        try:
            nv.nvmlInit()
        except Exception as exc:  # NVMLError subclasses: library not found, driver not loaded
            return False, f"NVML: {exc}" if str(exc) else f"NVML: {type(exc).__name__}"
        self._inited = True
        count = nv.nvmlDeviceGetCount()
        if count == 0:
            return False, "NVML found no NVIDIA GPU"
        self._handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self._names = [_text(nv.nvmlDeviceGetName(h)) for h in self._handles]
        for attr in _BENIGN_REASONS:
            self._benign_mask |= int(getattr(nv, attr, 0) or 0)
        try:
            driver = _text(nv.nvmlSystemGetDriverVersion())
        except Exception:
            driver = "?"
        return True, f"{count} GPU(s): {', '.join(self._names)}; driver {driver}"

    def _sample(self) -> dict[str, Metric]:
        nv = self._nv
        out: dict[str, Metric] = {}

        def q(name, unit, fn, scale=1.0):
            try:
                v = fn()
                out[name] = Metric(name, float(v) * scale, unit)
            except Exception as exc:
                out[name] = Metric.na(name, unit, error_reason(exc))

        for i, h in enumerate(self._handles):
            p = f"gpu{i}_"
            q(p + "util_percent", "%", lambda: nv.nvmlDeviceGetUtilizationRates(h).gpu)
            q(p + "mem_util_percent", "%", lambda: nv.nvmlDeviceGetUtilizationRates(h).memory)
            q(p + "mem_used_mb", "MB", lambda: nv.nvmlDeviceGetMemoryInfo(h).used, 1 / MB)
            q(p + "mem_total_mb", "MB", lambda: nv.nvmlDeviceGetMemoryInfo(h).total, 1 / MB)
            q(p + "power_w", "W", lambda: nv.nvmlDeviceGetPowerUsage(h), 1e-3)  # milliwatts
            q(p + "temp_c", "C", lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
            q(p + "sm_clock_mhz", "MHz", lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))
            q(p + "mem_clock_mhz", "MHz", lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM))
            q(p + "throttled", "0/1", lambda: 1 if self._reasons(h) & ~self._benign_mask else 0)
        return out

    def _reasons(self, h) -> int:
        nv = self._nv
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
            nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(fn(h))

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"gpus": list(self._names)}
        if self._inited:
            for key, fn in (("driver_version", "nvmlSystemGetDriverVersion"),
                            ("nvml_version", "nvmlSystemGetNVMLVersion")):
                try:
                    info[key] = _text(getattr(self._nv, fn)())
                except Exception:
                    pass
        return info

    def close(self) -> None:
        if self._inited:
            try:
                self._nv.nvmlShutdown()
            except Exception:
                pass
            self._inited = False


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
