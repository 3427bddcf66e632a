"""Board power from an INA219 current sensor over I2C, through pi-ina219 (extra ``pi``).

``from ina219 import INA219`` happens at probe time; the class is a
constructor parameter. The sensor is configured once (calibration written)
when availability is probed; each sample reads bus voltage, current and
power. A missing bus (``/dev/i2c-N``), a platform whose default bus
pi-ina219 cannot guess, or no device answering at the address makes the
collector "not available" with the library's message.

pi-ina219 calls ``logging.basicConfig`` when the root logger has no handler;
the probe removes any handler it adds, so the controller's logging is its own.
"""
from __future__ import annotations

import logging
from typing import Any

from .base import Collector, Metric, error_reason


class Ina219Collector(Collector):
    """Bus voltage, current and power of one INA219; ``power_w`` too, when nothing
    listed earlier (jtop, tegrastats) supplies the board's total power."""

    name = "ina219"

    def __init__(self, shunt_ohms: float = 0.1, max_expected_amps: float | None = None,
                 address: int = 0x40, busnum: int | None = None,
                 ina219_class: Any = None, voltage_range: int | None = None) -> None:
        """``busnum=None`` lets pi-ina219 pick the platform's default bus (Raspberry Pi: 1)."""
        super().__init__()
        self.shunt_ohms = shunt_ohms
        self.max_expected_amps = max_expected_amps
        self.address = address
        self.busnum = busnum
        self.voltage_range = voltage_range
        self._cls = ina219_class
        self._ina: Any = None

    def _where(self) -> str:
        bus = "default bus" if self.busnum is None else f"bus {self.busnum}"
        return f"0x{self.address:02x} on I2C {bus}"

    def _probe(self) -> tuple[bool, str]:
        cls = self._cls
        if cls is None:
            try:
                from ina219 import INA219 as cls
            except ImportError as exc:
                return False, f"pi-ina219 is not installed ({exc})"
        root = logging.getLogger()
        before = list(root.handlers)
        try:
            ina = cls(self.shunt_ohms, max_expected_amps=self.max_expected_amps,
                      busnum=self.busnum, address=self.address)
            if self.voltage_range is None:
                ina.configure()
            else:
                ina.configure(voltage_range=self.voltage_range)
            ina.voltage()  # a device must answer at the address
        except Exception as exc:
            return False, f"INA219 at {self._where()}: {error_reason(exc)}"
        finally:
            for h in root.handlers[:]:
                if h not in before:
                    root.removeHandler(h)
        self._ina = ina
        return True, f"INA219 at {self._where()}, shunt {self.shunt_ohms} ohm"

    def _sample(self) -> dict[str, Metric]:
        ina = self._ina
        out: dict[str, Metric] = {}
        out["ina219_bus_v"] = Metric("ina219_bus_v", float(ina.voltage()), "V")
        try:
            amps = float(ina.current()) / 1000.0  # pi-ina219 reports mA
            watts = float(ina.power()) / 1000.0   # and mW
        except Exception as exc:  # DeviceRangeError: current overflow at the highest gain
            why = error_reason(exc)
            for k, u in (("ina219_current_a", "A"), ("ina219_power_w", "W"), ("power_w", "W")):
                out[k] = Metric.na(k, u, why)
            return out
        out["ina219_current_a"] = Metric("ina219_current_a", amps, "A")
        out["ina219_power_w"] = Metric("ina219_power_w", watts, "W")
        out["power_w"] = Metric("power_w", watts, "W")
        return out

    def info(self) -> dict[str, Any]:
        return {"address": f"0x{self.address:02x}", "busnum": self.busnum,
                "shunt_ohms": self.shunt_ohms, "max_expected_amps": self.max_expected_amps}
