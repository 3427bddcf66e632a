"""A ``throttled`` flag (0/1) where the board reports throttling.

Sources, first found wins:

- Raspberry Pi firmware: ``<sysfs>/devices/platform/soc/soc:firmware/get_throttled``
  (hex, no prefix) or ``vcgencmd get_throttled`` (``throttled=0x50000``). Bits
  0-3 are "now": under-voltage, ARM frequency capped, throttled, soft
  temperature limit; bits 16-19 the same "since boot".
- Linux thermal cooling devices (``<sysfs>/class/thermal/cooling_device*``)
  that cap a frequency: cpufreq/devfreq devices, and on Jetson the BPMP
  ``*-balanced`` caps. ``cur_state > 0`` on any of them means a thermal cap is
  holding a clock down now. Fans are not throttling and are left out.

Elsewhere ``throttled`` is n/a with the reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .base import Collector, Metric, read_text

RPI_NOW_MASK = 0xF
RPI_OCCURRED_MASK = 0xF0000
RPI_BITS = {0: "under-voltage", 1: "arm frequency capped", 2: "throttled", 3: "soft temperature limit"}

_CAP_HINTS = ("cpufreq", "devfreq", "balanced", "processor", "cpu", "gpu", "emc")
_NOT_CAPS = ("fan", "pwm")


def parse_rpi_throttled(text: str) -> int:
    """``throttled=0x50005`` (vcgencmd) or ``50005`` (sysfs) -> the integer flags."""
    text = text.strip()
    if "=" in text:
        text = text.split("=", 1)[1]
    return int(text, 16)


def rpi_flags(value: int) -> list[str]:
    """Names of the "now" and "since boot" flags set in a get_throttled value."""
    out = [name for bit, name in RPI_BITS.items() if value & (1 << bit)]
    out += [f"{name} since boot" for bit, name in RPI_BITS.items() if value & (1 << (bit + 16))]
    return out


class ThrottleCollector(Collector):
    name = "throttle"

    def __init__(self, sysfs_root: str | os.PathLike = "/sys", vcgencmd: str | None = "vcgencmd",
                 timeout_s: float = 1.0) -> None:
        super().__init__()
        self.sysfs_root = Path(sysfs_root)
        self.vcgencmd = vcgencmd
        self.timeout_s = timeout_s
        self._source = ""
        self._vc: str | None = None
        self._caps: list[Path] = []
        self._last_flags: int | None = None

    @property
    def rpi_sysfs(self) -> Path:
        return self.sysfs_root / "devices/platform/soc/soc:firmware/get_throttled"

    def _probe(self) -> tuple[bool, str]:
        if read_text(self.rpi_sysfs) is not None:
            self._source = "rpi-sysfs"
            return True, f"Raspberry Pi firmware ({self.rpi_sysfs})"
        if self.vcgencmd:
            vc = shutil.which(self.vcgencmd)
            if vc is not None:
                try:
                    parse_rpi_throttled(self._run_vcgencmd(vc))
                    self._vc, self._source = vc, "vcgencmd"
                    return True, f"Raspberry Pi firmware ({vc} get_throttled)"
                except Exception:
                    pass
        base = self.sysfs_root / "class/thermal"
        try:
            devs = sorted(base.glob("cooling_device*"))
        except OSError:
            devs = []
        for d in devs:
            kind = (read_text(d / "type") or "").lower()
            if any(h in kind for h in _CAP_HINTS) and not any(n in kind for n in _NOT_CAPS) \
                    and read_text(d / "cur_state") is not None:
                self._caps.append(d)
        if self._caps:
            self._source = "thermal"
            kinds = sorted({read_text(d / "type") or d.name for d in self._caps})
            return True, "thermal cooling devices: " + ", ".join(kinds)
        return False, ("board reports no throttling state (no Raspberry Pi get_throttled, "
                       "no frequency-capping thermal cooling device)")

    def _run_vcgencmd(self, exe: str) -> str:
        r = subprocess.run([exe, "get_throttled"], capture_output=True, text=True,
                           timeout=self.timeout_s, check=True)
        return r.stdout

    def _sample(self) -> dict[str, Metric]:
        if self._source in ("rpi-sysfs", "vcgencmd"):
            text = read_text(self.rpi_sysfs) if self._source == "rpi-sysfs" else \
                self._run_vcgencmd(self._vc)
            if text is None:
                raise OSError(f"cannot read {self.rpi_sysfs}")
            flags = parse_rpi_throttled(text)
            self._last_flags = flags
            return {
                "throttled": Metric("throttled", 1.0 if flags & RPI_NOW_MASK else 0.0, "0/1"),
                "throttled_since_boot": Metric("throttled_since_boot",
                                               1.0 if flags & RPI_OCCURRED_MASK else 0.0, "0/1"),
                "undervoltage": Metric("undervoltage", 1.0 if flags & 0x1 else 0.0, "0/1"),
            }
        capped = 0
        for d in self._caps:
            s = read_text(d / "cur_state")
            if s is not None and s.isdigit() and int(s) > 0:
                capped += 1
        return {"throttled": Metric("throttled", 1.0 if capped else 0.0, "0/1"),
                "thermal_caps_active": Metric("thermal_caps_active", float(capped), "count")}

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"throttle_source": self._source or None}
        if self._last_flags is not None:
            info["rpi_throttled_flags"] = hex(self._last_flags)
            info["rpi_throttled_meaning"] = rpi_flags(self._last_flags)
        return info
