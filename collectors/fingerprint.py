"""A run's fingerprint: what the board was and what state it was in at the start.

Board model (device tree), kernel, L4T release, nvpmodel and jetson_clocks
state, CPU model, governor, cores, memory, and the power and thermal state at
start (a sample of the collectors passed in). Everything is read from paths
given as parameters, and the result is plain JSON. A fact this board does not
have is ``None``; reading never raises.

Framework and runtime versions live with the runner environments, which add
them to the same record.
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable

from .base import Collector, read_text


def _dt_text(path: Path) -> str | None:
    """Device-tree strings end in NUL bytes."""
    raw = read_text(path)
    return None if raw is None else raw.replace("\x00", " ").strip() or None


def _cpu_model(proc_root: Path) -> str | None:
    text = read_text(proc_root / "cpuinfo") or ""
    for key in ("model name", "Hardware", "Model", "Processor", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.M)
        if m:
            return m.group(1).strip()
    return platform.processor() or None


def _l4t(etc_root: Path) -> dict[str, Any] | None:
    """``/etc/nv_tegra_release``: '# R35 (release), REVISION: 4.1, GCID: ..., BOARD: ...'."""
    text = read_text(etc_root / "nv_tegra_release")
    if not text:
        return None
    first = text.splitlines()[0]
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", first)
    out: dict[str, Any] = {"raw": first.lstrip("# ").strip()}
    if m:
        out["release"] = f"{m.group(1)}.{m.group(2)}"
    b = re.search(r"BOARD:\s*([^,]+)", first)
    if b:
        out["board"] = b.group(1).strip()
    return out


def _nvpmodel(nvpmodel: str | None) -> dict[str, Any] | None:
    """``nvpmodel -q``: 'NV Power Mode: MAXN\\n0'."""
    if not nvpmodel:
        return None
    exe = shutil.which(nvpmodel)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-q"], capture_output=True, text=True, timeout=3).stdout
    except Exception:
        return None
    m = re.search(r"NV Power Mode:\s*(.+)", out)
    mid = re.search(r"^\s*(\d+)\s*$", out, re.M)
    if not m:
        return None
    return {"name": m.group(1).strip(), "id": int(mid.group(1)) if mid else None}


def _governors(sysfs_root: Path) -> str | list[str] | None:
    govs = set()
    for d in sorted((sysfs_root / "devices/system/cpu").glob("cpu[0-9]*")):
        g = read_text(d / "cpufreq/scaling_governor")
        if g:
            govs.add(g)
    if not govs:
        return None
    return govs.pop() if len(govs) == 1 else sorted(govs)


def _meminfo_mb(proc_root: Path) -> float | None:
    m = re.search(r"^MemTotal:\s+(\d+) kB", read_text(proc_root / "meminfo") or "", re.M)
    return round(int(m.group(1)) / 1024, 1) if m else None


def fingerprint(sysfs_root: str | os.PathLike = "/sys", proc_root: str | os.PathLike = "/proc",
                devicetree_root: str | os.PathLike = "/proc/device-tree",
                etc_root: str | os.PathLike = "/etc", nvpmodel: str | None = "nvpmodel",
                collectors: Iterable[Collector] = ()) -> dict[str, Any]:
    """The board and its state now, as a JSON-serialisable dict."""
    sysfs, proc, dt, etc = Path(sysfs_root), Path(proc_root), Path(devicetree_root), Path(etc_root)
    uname = platform.uname()
    fp: dict[str, Any] = {
        "board_model": _dt_text(dt / "model"),
        "board_compatible": _dt_text(dt / "compatible"),
        "hostname": uname.node,
        "kernel": read_text(proc / "sys/kernel/osrelease") or uname.release,
        "kernel_version": read_text(proc / "version"),
        "machine": uname.machine,
        "os": _os_release(etc),
        "l4t": _l4t(etc),
        "nvpmodel": _nvpmodel(nvpmodel),
        "cpu_model": _cpu_model(proc),
        "cpu_cores": os.cpu_count(),
        "cpu_governor": _governors(sysfs),
        "mem_total_mb": _meminfo_mb(proc),
        "python": platform.python_version(),
    }
    fp["collectors"] = {}
    start: dict[str, float] = {}
    for c in collectors:
        try:
            ok, why = c.available()
            entry: dict[str, Any] = {"available": ok, "detail": why}
            if ok:
                entry["info"] = _jsonable(c.info())
                for k, m in c.sample().items():
                    if m.value is not None and _is_state(k):
                        start[k] = m.value
            fp["collectors"][c.name] = entry
        except Exception as exc:  # the fingerprint must never stop a run
            fp["collectors"][getattr(c, "name", "?")] = {"available": False, "detail": repr(exc)}
    jc = next((e["info"].get("jetson_clocks") for e in fp["collectors"].values()
               if isinstance(e.get("info"), dict) and "jetson_clocks" in e["info"]), None)
    fp["jetson_clocks"] = jc
    if fp["nvpmodel"] is None:
        nvp = next((e["info"].get("nvpmodel") for e in fp["collectors"].values()
                    if isinstance(e.get("info"), dict) and e["info"].get("nvpmodel")), None)
        if nvp:
            fp["nvpmodel"] = {"name": nvp, "id": None}
    fp["state_at_start"] = start
    return fp


def _is_state(name: str) -> bool:
    """Power, thermal, throttling and clock readings: the state worth recording at start."""
    return (name.startswith(("temp_", "power", "throttled", "thermal_caps", "undervoltage"))
            or name.endswith(("_temp_c", "_power_w", "_freq_mhz", "_clock_mhz", "_throttled"))
            or name in ("nvpmodel_id", "jetson_clocks", "ina219_power_w"))


def _os_release(etc: Path) -> str | None:
    text = read_text(etc / "os-release") or ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
    return m.group(1) if m else None


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
