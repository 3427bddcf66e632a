"""Coral EdgeTPUs found in sysfs, PCIe temperature, and USB bytes through usbmon.

- USB accelerators show up under ``<sysfs>/bus/usb/devices/*/`` with
  ``idVendor:idProduct`` ``1a6e:089a`` before the runtime first loads firmware
  and ``18d1:9302`` after; they become ``edgetpu:usb:0``, ``edgetpu:usb:1``...
  in bus-path order.
- PCIe/M.2 modules are ``<sysfs>/class/apex/apex_N`` (gasket/apex driver) and
  become ``edgetpu:pci:N``; ``apex_N/temp`` holds the die temperature in
  millidegrees Celsius.
- Bytes over a USB accelerator's link come from usbmon's text interface,
  ``<debugfs>/usb/usbmon/<bus>u``, which only root can read and only once
  ``usbmon`` is loaded and debugfs mounted; otherwise the metric is n/a with
  that reason.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Collector, Metric, read_text

USB_IDS = {("1a6e", "089a"): "before firmware load", ("18d1", "9302"): "runtime ready"}
USBMON_NA = "usbmon not readable (modprobe usbmon; needs root and debugfs)"


@dataclass(frozen=True)
class UsbTpu:
    resource: str
    path: str      # sysfs device directory name, e.g. "2-1"
    busnum: int
    devnum: int
    state: str


def _usb_tpus(sysfs_root: Path) -> list[UsbTpu]:
    base = sysfs_root / "bus/usb/devices"
    found = []
    try:
        entries = sorted(base.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    for d in entries:
        vid = (read_text(d / "idVendor") or "").lower()
        pid = (read_text(d / "idProduct") or "").lower()
        state = USB_IDS.get((vid, pid))
        if state is None:
            continue
        try:
            bus = int(read_text(d / "busnum") or d.name.split("-")[0])
            dev = int(read_text(d / "devnum") or 0)
        except ValueError:
            bus, dev = 0, 0
        found.append((d.name, bus, dev, state))
    return [UsbTpu(f"edgetpu:usb:{i}", n, b, dv, s) for i, (n, b, dv, s) in enumerate(found)]


def _pci_tpus(sysfs_root: Path) -> list[tuple[str, Path]]:
    base = sysfs_root / "class/apex"
    try:
        names = [p for p in base.iterdir() if p.name.startswith("apex_")]
    except OSError:
        return []
    out = []
    for p in sorted(names, key=lambda p: int(p.name.split("_")[1]) if p.name.split("_")[1].isdigit() else 0):
        out.append((f"edgetpu:pci:{p.name.split('_', 1)[1]}", p))
    return out


def enumerate_edgetpus(sysfs_root: str | os.PathLike = "/sys") -> list[str]:
    """Resource names of every EdgeTPU present: ``edgetpu:usb:N`` then ``edgetpu:pci:N``."""
    root = Path(sysfs_root)
    return [t.resource for t in _usb_tpus(root)] + [r for r, _ in _pci_tpus(root)]


def parse_usbmon_line(line: str) -> tuple[int, int, int] | None:
    """``(bus, device, bytes)`` of a completed transfer in usbmon's text ('u') format, else None.

    A line reads ``URB-tag timestamp event address status length ...`` where
    event ``C`` is a completion and address is ``Type+Dir:bus:dev:endpoint``
    (Documentation/usb/usbmon.rst); for a completion, length is the number of
    bytes actually transferred.
    """
    parts = line.split()
    if len(parts) < 6 or parts[2] != "C":
        return None
    addr = parts[3].split(":")
    if len(addr) != 4:
        return None
    try:
        return int(addr[1]), int(addr[2]), int(parts[5])
    except ValueError:  # an isochronous or error completion without a plain length
        return None


class UsbmonCounter:
    """Counts bytes per (bus, device) from one usbmon text file in a daemon thread."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.bytes: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()
        self._f = open(self.path, "r", errors="replace")  # raises if not readable
        self._thread = threading.Thread(target=self._run, name=f"edgemt-usbmon-{self.path.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for line in self._f:
            r = parse_usbmon_line(line)
            if r is not None:
                with self._lock:
                    key = (r[0], r[1])
                    self.bytes[key] = self.bytes.get(key, 0) + r[2]

    def total(self, bus: int, dev: int) -> int:
        with self._lock:
            return self.bytes.get((bus, dev), 0)


class EdgeTpuCollector(Collector):
    """How many EdgeTPUs, each PCIe module's temperature, each USB one's link bytes/s."""

    name = "edgetpu"

    def __init__(self, sysfs_root: str | os.PathLike = "/sys",
                 debugfs_root: str | os.PathLike = "/sys/kernel/debug", clock=time.monotonic) -> None:
        super().__init__()
        self.sysfs_root = Path(sysfs_root)
        self.debugfs_root = Path(debugfs_root)
        self._clock = clock
        self._usb: list[UsbTpu] = []
        self._pci: list[tuple[str, Path]] = []
        self._mon: dict[int, UsbmonCounter] = {}
        self._mon_error: dict[int, str] = {}
        self._prev: dict[str, tuple[float, int]] = {}

    def _probe(self) -> tuple[bool, str]:
        self._usb = _usb_tpus(self.sysfs_root)
        self._pci = _pci_tpus(self.sysfs_root)
        if not self._usb and not self._pci:
            return False, ("no EdgeTPU found (no USB 1a6e:089a or 18d1:9302 under "
                           f"{self.sysfs_root}/bus/usb/devices, no {self.sysfs_root}/class/apex)")
        for t in self._usb:
            if t.busnum in self._mon or t.busnum in self._mon_error:
                continue
            path = self.debugfs_root / "usb/usbmon" / f"{t.busnum}u"
            try:
                self._mon[t.busnum] = UsbmonCounter(path)
            except OSError:
                self._mon_error[t.busnum] = USBMON_NA
        for t in self._usb:
            if t.busnum in self._mon:
                self._prev[t.resource] = (self._clock(), self._mon[t.busnum].total(t.busnum, t.devnum))
        names = [t.resource for t in self._usb] + [r for r, _ in self._pci]
        return True, ", ".join(names)

    def _sample(self) -> dict[str, Metric]:
        out: dict[str, Metric] = {}
        out["edgetpu_count"] = Metric("edgetpu_count", float(len(self._usb) + len(self._pci)), "count")
        for res, path in self._pci:
            n = res.rsplit(":", 1)[1]
            k = f"edgetpu_pci{n}_temp_c"
            raw = read_text(path / "temp")
            try:
                out[k] = Metric(k, int(raw) / 1000.0, "C")
            except (TypeError, ValueError):
                out[k] = Metric.na(k, "C", f"cannot read {path / 'temp'}")
        for t in self._usb:
            n = t.resource.rsplit(":", 1)[1]
            k = f"edgetpu_usb{n}_bytes_s"
            mon = self._mon.get(t.busnum)
            if mon is None:
                out[k] = Metric.na(k, "B/s", self._mon_error.get(t.busnum, USBMON_NA))
                continue
            now, total = self._clock(), mon.total(t.busnum, t.devnum)
            t0, b0 = self._prev.get(t.resource, (now, total))
            self._prev[t.resource] = (now, total)
            out[k] = Metric(k, (total - b0) / (now - t0), "B/s") if now > t0 else \
                Metric.na(k, "B/s", "no time elapsed")
        return out

    def info(self) -> dict[str, Any]:
        return {"edgetpus": [t.resource for t in self._usb] + [r for r, _ in self._pci],
                "usb": [{"resource": t.resource, "sysfs": t.path, "bus": t.busnum, "dev": t.devnum,
                         "state": t.state} for t in self._usb]}
