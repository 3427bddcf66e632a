"""INA219: the real pi-ina219 here reports why; on a fake SMBus it computes the datasheet's example."""
import json
import logging

import pytest

from collectors.ina219 import Ina219Collector
from collectors_testdata import DATA

EXAMPLE = json.loads((DATA / "ina219" / "datasheet_example.json").read_text())


def test_real_library_here_reports_its_reason():
    pytest.importorskip("ina219")
    root_handlers = list(logging.getLogger().handlers)
    c = Ina219Collector(busnum=1)
    ok, why = c.available()
    assert not ok
    assert why.startswith("INA219 at 0x40 on I2C bus 1: ")
    assert "/dev/i2c-1" in why  # FileNotFoundError from opening the bus
    ok, why = Ina219Collector().available()  # default bus: the library cannot guess it here
    assert not ok and "Could not determine default I2C bus" in why
    assert logging.getLogger().handlers == root_handlers  # pi-ina219's basicConfig undone


class FakeSMBus:
    """The chip end of /dev/i2c-N: the INA219's registers, with its current and power arithmetic."""

    def __init__(self, busnum):
        self.busnum = busnum
        regs = EXAMPLE["measured_registers"]
        self.regs = {0x01: int(regs["0x01_shunt_voltage"], 16), 0x02: int(regs["0x02_bus_voltage"], 16),
                     0x00: 0x399F, 0x05: 0}
        self.writes = []

    def _signed(self, v):
        return v - 0x10000 if v & 0x8000 else v

    def write_i2c_block_data(self, addr, register, data):
        assert addr == 0x40
        self.writes.append((register, (data[0] << 8) | data[1]))
        self.regs[register] = (data[0] << 8) | data[1]

    def read_word_data(self, addr, register):
        assert addr == 0x40
        cal = self.regs[0x05]
        current = int(self._signed(self.regs[0x01]) * cal / 4096)
        if register == 0x04:
            value = current & 0xFFFF
        elif register == 0x03:
            value = int(current * (self.regs[0x02] >> 3) / 5000)
        else:
            value = self.regs[register]
        return ((value & 0xFF) << 8) | (value >> 8)  # SMBus words arrive low byte first

    def close(self):
        pass


@pytest.fixture
def fake_bus(monkeypatch):
    """Replace only the kernel bus: Adafruit_GPIO's Device and pi-ina219 run for real."""
    pureio_smbus = pytest.importorskip("Adafruit_PureIO.smbus")
    buses = []

    def make(busnum):
        buses.append(FakeSMBus(busnum))
        return buses[-1]

    monkeypatch.setattr(pureio_smbus, "SMBus", make)
    return buses


def test_datasheet_example_through_pi_ina219(fake_bus):
    c = Ina219Collector(shunt_ohms=EXAMPLE["shunt_ohms"], max_expected_amps=EXAMPLE["max_expected_amps"],
                        busnum=1, address=0x40)
    ok, why = c.available()
    assert ok, why
    bus = fake_bus[0]
    assert bus.busnum == 1
    assert (0x05, 0x5000) in bus.writes  # the library wrote the datasheet's calibration
    m = c.sample()
    exp = EXAMPLE["expected"]
    assert m["ina219_bus_v"].value == pytest.approx(exp["bus_v"])
    assert m["ina219_current_a"].value == pytest.approx(exp["current_a"])
    assert m["ina219_power_w"].value == pytest.approx(exp["power_w"])
    assert m["power_w"].value == pytest.approx(exp["power_w"])


def test_injected_class_and_overflow_contained():
    class Overflowing:
        def __init__(self, shunt_ohms, max_expected_amps=None, busnum=None, address=0x40):
            self.args = (shunt_ohms, max_expected_amps, busnum, address)

        def configure(self, **kw):
            pass

        def voltage(self):
            return 5.1

        def current(self):
            raise RuntimeError("Current out of range (overflow), for gain 0.32V")

        power = current

    c = Ina219Collector(shunt_ohms=0.05, max_expected_amps=3, address=0x41, busnum=3,
                        ina219_class=Overflowing)
    assert c.available()[0]
    assert c._ina.args == (0.05, 3, 3, 0x41)
    m = c.sample()
    assert m["ina219_bus_v"].value == 5.1
    assert m["power_w"].value is None and "overflow" in m["power_w"].reason
