"""Jetson telemetry from ``tegrastats`` lines: the fallback when jtop is absent.

``parse_line`` reads the line formats of TX1/TX2, Nano, AGX Xavier, Xavier NX,
Orin (JetPack 5 and 6) and the JetPack 7 additions:

- ``RAM 2344/7852MB (lfb 1154x4MB)``, ``SWAP 0/3926MB (cached 0MB)``,
  ``IRAM 0/252kB(lfb 252kB)``
- ``CPU [1%@345,off,...]`` (per core load @ MHz) and the older
  ``CPU [1%,4%,off]@1224`` (one frequency for all cores)
- ``EMC_FREQ 4%@1600``, ``EMC_FREQ 0%``; ``GR3D_FREQ 0%@624``,
  ``GR3D_FREQ 12%@[1300,1300]`` (per-GPC clocks), ``GR3D_FREQ @[1000,1000]``
- engines ``APE 150``, ``VIC_FREQ 601``, ``NVENC off``
- temperatures ``GPU@35C``, ``cpu@53.062C``, ``cpu@52.968C/52.968C``;
  ``-256C`` marks an offline sensor
- power rails in milliwatts: ``VDD_IN 3056/3056`` (current/average, older
  releases, no unit), ``VDD_IN 5079mW/5079mW`` and
  ``VDD_GPU_SOC 5139mW/5139mW/5139mW`` (current/average/peak, JetPack 7)

The board's total power (``power_w``) is the input rail where the module has
one (``VDD_IN``, ``POM_5V_IN``), as NVIDIA's power-management guides define
it; otherwise (AGX Xavier, AGX Orin) the sum of the rails, which is what jtop
reports too.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from .base import Collector, Metric

_UNITS = (("_percent", "%"), ("_mb", "MB"), ("_kb", "kB"), ("_mhz", "MHz"),
          ("_c", "C"), ("_w", "W"), ("_blocks", "count"))

_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB(?: ?\(lfb (\d+)x(\d+)([kM])B\))?")
_SWAP = re.compile(r"\bSWAP (\d+)/(\d+)MB(?: ?\(cached (\d+)MB\))?")
_IRAM = re.compile(r"\bIRAM (\d+)/(\d+)kB")
_CPU = re.compile(r"\bCPU \[([^\]]*)\](?:@(\d+))?")
_LOADFREQ = re.compile(r"\b(EMC_FREQ|GR3D_FREQ) (?:(\d+)%)?(?:@(\[[\d,]+\]|\d+))?")
_TEMP = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)@(-?\d+(?:\.\d+)?)C(?:/-?\d+(?:\.\d+)?C)?")
_RAIL = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*) +(\d+)(?:mW)?/(\d+)(?:mW)?(?:/(\d+)(?:mW)?)?(?![\w.])")
_ENGINE = re.compile(r"\b([A-Z][A-Z0-9_]*) +(off|\d+)(?=\s|$)")
_NOT_RAILS = {"RAM", "SWAP", "IRAM"}
_NOT_ENGINES = {"RAM", "SWAP", "IRAM", "CPU", "EMC_FREQ", "GR3D_FREQ"}
_TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")


def unit_of(name: str) -> str:
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


@dataclass
class TegraLine:
    """One parsed line: values by metric name, and names reported ``off``/offline."""

    values: dict[str, float] = field(default_factory=dict)
    offline: dict[str, str] = field(default_factory=dict)  # name -> reason
    rails: list[str] = field(default_factory=list)          # rail names as printed
    power_total_rule: str | None = None

    def metrics(self) -> dict[str, Metric]:
        out = {k: Metric(k, v, unit_of(k)) for k, v in self.values.items()}
        for k, why in self.offline.items():
            out[k] = Metric.na(k, unit_of(k), why)
        return out


def _freq(tok: str) -> float:
    """'1600' or '[1300,1300]' (per-GPC clocks) -> MHz (the highest GPC clock)."""
    if tok.startswith("["):
        return float(max(int(x) for x in tok[1:-1].split(",") if x))
    return float(tok)


def parse_line(line: str) -> TegraLine:
    """Parse one tegrastats line (any supported board) into named metric values."""
    p = TegraLine()
    v = p.values

    m = _RAM.search(line)
    if m:
        v["ram_used_mb"], v["ram_total_mb"] = float(m[1]), float(m[2])
        if m[3]:
            v["ram_lfb_blocks"] = float(m[3])
    m = _SWAP.search(line)
    if m:
        v["swap_used_mb"], v["swap_total_mb"] = float(m[1]), float(m[2])
        if m[3]:
            v["swap_cached_mb"] = float(m[3])
    m = _IRAM.search(line)
    if m:
        v["iram_used_kb"], v["iram_total_kb"] = float(m[1]), float(m[2])

    m = _CPU.search(line)
    if m:
        shared_freq = m[2]
        for i, item in enumerate(x.strip() for x in m[1].split(",")):
            if item == "off":
                p.offline[f"cpu{i}_percent"] = "core offline"
                p.offline[f"cpu{i}_freq_mhz"] = "core offline"
                continue
            load, _, freq = item.partition("@")
            if load.endswith("%"):
                v[f"cpu{i}_percent"] = float(load[:-1])
            freq = freq or shared_freq
            if freq:
                v[f"cpu{i}_freq_mhz"] = float(freq)

    for m in _LOADFREQ.finditer(line):
        prefix = "emc" if m[1] == "EMC_FREQ" else "gpu0"
        if m[2] is not None:
            v[f"{prefix}_util_percent"] = float(m[2])
        if m[3] is not None:
            v[f"{prefix}_freq_mhz"] = _freq(m[3])

    for m in _ENGINE.finditer(line):
        name = m[1]
        if name in _NOT_ENGINES:
            continue
        base = name.lower()
        if base.endswith("_freq"):
            base = base[:-len("_freq")]
        key = base + "_freq_mhz"
        if m[2] == "off":
            p.offline[key] = "engine off"
        else:
            v[key] = float(m[2])

    for m in _TEMP.finditer(line):
        key = f"temp_{m[1].lower()}_c"
        t = float(m[2])
        if t <= -256:
            p.offline[key] = "sensor offline (tegrastats reports -256C)"
        else:
            v[key] = t

    rails: dict[str, float] = {}
    for m in _RAIL.finditer(line):
        name = m[1]
        if name in _NOT_RAILS:
            continue
        rails[name] = float(m[2]) / 1000.0
        p.rails.append(name)
        v[f"power_{name.lower()}_w"] = float(m[2]) / 1000.0
        v[f"power_{name.lower()}_avg_w"] = float(m[3]) / 1000.0
    if rails:
        total = next((r for r in _TOTAL_RAILS if r in rails), None)
        if total:
            v["power_w"] = rails[total]
            p.power_total_rule = f"input rail {total}"
        else:
            v["power_w"] = sum(rails.values())
            p.power_total_rule = "sum of rails " + "+".join(rails)
    return p


class TegrastatsCollector(Collector):
    """Runs ``tegrastats --interval MS`` in a reader thread and reports the latest line.

    ``prefer``: a collector (jtop) that, when available, makes this one
    unnecessary; tegrastats then stays "not available" and is never started.
    """

    name = "tegrastats"

    def __init__(self, command: str | os.PathLike = "tegrastats", interval_ms: int = 500,
                 prefer: Collector | None = None, extra_args: Sequence[str] = (),
                 stale_after_s: float | None = None) -> None:
        super().__init__()
        self.command = os.fspath(command)
        self.interval_ms = int(interval_ms)
        self.prefer = prefer
        self.extra_args = list(extra_args)
        self.stale_after_s = stale_after_s if stale_after_s is not None else \
            max(2.0, 4 * self.interval_ms / 1000.0)
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last: tuple[float, TegraLine] | None = None
        self._last_raw = ""
        self._stderr = ""

    def argv(self) -> list[str]:
        return [self._exe, "--interval", str(self.interval_ms), *self.extra_args]

    def _probe(self) -> tuple[bool, str]:
        if self.prefer is not None:
            ok, _ = self.prefer.available()
            if ok:
                return False, f"{self.prefer.name} is available and preferred over tegrastats"
        exe = shutil.which(self.command)
        if exe is None:
            return False, f"{self.command!r} not found (tegrastats ships with L4T on Jetson boards)"
        self._exe = exe
        self._proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, name="edgemt-tegrastats", daemon=True)
        self._reader.start()
        return True, f"{exe} every {self.interval_ms} ms"

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            raw = raw.strip()
            if not raw:
                continue
            parsed = parse_line(raw)
            if not parsed.values:
                continue
            with self._lock:
                self._last = (time.monotonic(), parsed)
                self._last_raw = raw
        try:
            self._stderr = (self._proc.stderr.read() or "").strip()[-300:]
        except Exception:
            pass

    def _sample(self) -> dict[str, Metric]:
        with self._lock:
            last = self._last
        proc = self._proc
        if last is None:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"tegrastats exited with status {proc.returncode}"
                                   + (f": {self._stderr}" if self._stderr else ""))
            return {}  # started, first line not yet printed
        t, parsed = last
        metrics = parsed.metrics()
        age = time.monotonic() - t
        if age > self.stale_after_s:
            why = f"tegrastats has printed nothing for {age:.1f} s"
            if proc is not None and proc.poll() is not None:
                why = f"tegrastats exited with status {proc.returncode}"
            return {k: Metric.na(k, m.unit, why) for k, m in metrics.items()}
        return metrics

    @property
    def last_line(self) -> str:
        with self._lock:
            return self._last_raw

    def info(self) -> dict[str, Any]:
        with self._lock:
            last = self._last
        if last is None:
            return {}
        return {"power_rails": last[1].rails, "power_total": last[1].power_total_rule}

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=2)
