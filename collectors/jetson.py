"""NVIDIA Jetson telemetry through jetson-stats (``jtop``; extra ``jetson``).

jtop is a client of the ``jtop.service`` daemon, which must be installed and
running; without it ``jtop.start()`` raises and this collector is "not
available" with the fix in the reason. ``jtop`` is imported at probe time, and
the class (or any factory returning an object with jtop's attributes) is a
constructor parameter, so tests pass a stand-in with jtop 4.x's attributes:
``gpu``, ``memory``, ``cpu``, ``power``, ``temperature``, ``nvpmodel``,
``jetson_clocks`` (and ``ok(spin=True)``, which re-raises a client error).

Before importing the real jtop, the probe looks for the service's socket: where it is
missing (every host that is not a Jetson with the service installed), the reason is the
same as jtop's own and jtop is neither imported nor constructed. Both cost: the import
~0.1 s of CPU, and jtop's constructor starts a thread that runs ``nvcc``, ``dpkg -l``,
``ldconfig`` and ``gcc``/``ld`` once per library to list the board's libraries, another
~0.1-0.2 s, at every run's start (the host fingerprint probes every collector).

Units as jtop documents them: frequencies in kHz, memory in KB, power in mW,
temperatures in C (-256 when a sensor is offline).
"""
from __future__ import annotations

import importlib.util
import os
import re
from typing import Any, Callable

from .base import Collector, Metric, error_reason

_SERVICE_HINT = "jtop service is not active (sudo jtop --install-service)"
# Where jtop.service listens (jetson-stats 4.x: jtop.service.JTOP_PIPE); jtop.start()
# connects there and says "The jtop.service is not active" when nothing is.
JTOP_SERVICE_SOCKET = "/run/jtop.sock"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


class JetsonCollector(Collector):
    """GPU load and frequency, shared memory, EMC, power rails and total, temperatures,
    nvpmodel, jetson_clocks, per-core CPU frequency."""

    name = "jetson"

    def __init__(self, jtop_factory: Callable[..., Any] | None = None, interval: float = 0.5,
                 service_socket: str | None = JTOP_SERVICE_SOCKET) -> None:
        """``jtop_factory(interval=...)`` returns a started-or-startable jtop object.
        ``service_socket``: where the real jtop's service listens; without it there, the
        real jtop is not imported (None: always try it)."""
        super().__init__()
        self._factory = jtop_factory
        self.service_socket = service_socket
        self.interval = interval
        self._j: Any = None

    def _probe(self) -> tuple[bool, str]:
        factory = self._factory
        if factory is None:
            if importlib.util.find_spec("jtop") is None:
                return False, "jetson-stats is not installed (No module named 'jtop')"
            if self.service_socket is not None and not os.path.exists(self.service_socket):
                return False, _SERVICE_HINT
            try:
                from jtop import jtop as factory
            except ImportError as exc:
                return False, f"jetson-stats is not installed ({exc})"
        j = factory(interval=self.interval)
        try:
            j.start()
        except Exception as exc:
            msg = " ".join(str(exc).split())
            if "service is not active" in msg:
                return False, _SERVICE_HINT
            return False, f"jtop: {msg}" if msg else f"jtop: {type(exc).__name__}"
        self._j = j
        board = ""
        try:
            hw = j.board.get("hardware", {})
            board = hw.get("Model") or hw.get("Module") or ""
        except Exception:
            pass
        return True, f"jtop {getattr(j, 'version', '')}".strip() + (f" on {board}" if board else "")

    def _sample(self) -> dict[str, Metric]:
        j = self._j
        j.ok(spin=True)  # raises the client's error (lost service connection), if any
        out: dict[str, Metric] = {}

        def put(name, value, unit):
            out[name] = Metric(name, float(value), unit)

        def group(label, fn):
            try:
                fn()
            except Exception as exc:
                key = f"jetson_{label}_error"
                out[key] = Metric.na(key, "", error_reason(exc))

        def gpu():
            for i, (_, g) in enumerate(j.gpu.items()):
                put(f"gpu{i}_util_percent", g["status"]["load"], "%")
                put(f"gpu{i}_freq_mhz", g["freq"]["cur"] / 1000.0, "MHz")

        def memory():
            mem = j.memory
            ram = mem["RAM"]
            put("ram_used_mb", ram["used"] / 1024.0, "MB")
            put("ram_total_mb", ram["tot"] / 1024.0, "MB")
            if "shared" in ram:  # on Jetson: the RAM the GPU holds
                put("mem_shared_mb", ram["shared"] / 1024.0, "MB")
            emc = mem.get("EMC") if hasattr(mem, "get") else None
            if emc and emc.get("online", True):
                put("emc_util_percent", emc["val"], "%")
                put("emc_freq_mhz", emc["cur"] / 1000.0, "MHz")

        def cpu():
            for i, c in enumerate(j.cpu["cpu"]):
                if c.get("online"):
                    put(f"cpu{i}_freq_mhz", c["freq"]["cur"] / 1000.0, "MHz")
                else:
                    k = f"cpu{i}_freq_mhz"
                    out[k] = Metric.na(k, "MHz", "core offline")

        def power():
            p = j.power
            if not p:
                out["power_w"] = Metric.na("power_w", "W", "jtop reports no power rails on this board")
                return
            for name, rail in p.get("rail", {}).items():
                k = f"power_{_slug(name)}_w"
                if rail.get("online", True):
                    put(k, rail["power"] / 1000.0, "W")
                else:
                    out[k] = Metric.na(k, "W", "rail offline")
            tot = p.get("tot")
            if tot:
                put("power_w", tot["power"] / 1000.0, "W")

        def temperature():
            for name, t in j.temperature.items():
                k = f"temp_{_slug(name)}_c"
                if t.get("online", True) and t["temp"] > -256:
                    put(k, t["temp"], "C")
                else:
                    out[k] = Metric.na(k, "C", "sensor offline")

        def modes():
            nvp = j.nvpmodel
            if nvp is None:
                out["nvpmodel_id"] = Metric.na("nvpmodel_id", "", "nvpmodel not available on this board")
            else:
                put("nvpmodel_id", nvp.id, "")
            jc = j.jetson_clocks
            if jc is None:
                out["jetson_clocks"] = Metric.na("jetson_clocks", "0/1", "jetson_clocks not available")
            else:
                put("jetson_clocks", 1 if bool(jc) else 0, "0/1")

        for label, fn in (("gpu", gpu), ("memory", memory), ("cpu", cpu), ("power", power),
                          ("temperature", temperature), ("modes", modes)):
            group(label, fn)
        return out

    def info(self) -> dict[str, Any]:
        j = self._j
        if j is None:
            return {}
        info: dict[str, Any] = {}
        try:
            info["nvpmodel"] = None if j.nvpmodel is None else j.nvpmodel.name
        except Exception:
            pass
        try:
            info["jetson_clocks"] = None if j.jetson_clocks is None else bool(j.jetson_clocks)
        except Exception:
            pass
        try:
            info["power_rails"] = list(j.power.get("rail", {}))
        except Exception:
            pass
        try:
            info["board"] = dict(j.board)
        except Exception:
            pass
        return info

    def close(self) -> None:
        j, self._j = self._j, None
        if j is not None:
            try:
                j.close()
            except Exception:
                pass
