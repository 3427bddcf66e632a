"""jtop collector: the real jtop here has no service; a stand-in with jtop 4.x's attributes gives values."""
import subprocess
import sys

import pytest

from collectors.jetson import JetsonCollector


def test_real_jtop_here_reports_service_reason():
    pytest.importorskip("jtop")
    c = JetsonCollector()  # the real jtop class: start() fails for want of jtop.service
    ok, why = c.available()
    assert not ok
    assert why == "jtop service is not active (sudo jtop --install-service)"
    assert c.sample() == {}


def test_without_the_service_socket_jtop_is_not_imported():
    """The probe looks for the service's socket first: on a host without it, jtop's import and
    its constructor's library scan (nvcc, dpkg, ldconfig, gcc, ld) are not paid at every run's
    start. In a fresh interpreter: this process may have imported jtop already."""
    pytest.importorskip("jtop")
    code = ("import sys; from collectors.jetson import JetsonCollector; "
            "print(JetsonCollector().available()); print('jtop' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["(False, 'jtop service is not active (sudo jtop --install-service)')", "False"]


def test_with_a_socket_there_the_real_jtop_is_asked(tmp_path, monkeypatch):
    """Where something is at the socket's path, the real jtop is constructed and started; here
    no service answers (jtop connects to its own path), and the reason is jtop's."""
    jtop = pytest.importorskip("jtop")
    made = []

    class Counted(jtop.jtop):
        def __init__(self, *args, **kwargs):
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(jtop, "jtop", Counted)
    there = tmp_path / "jtop.sock"
    there.touch()
    c = JetsonCollector(service_socket=str(there))
    assert c.available() == (False, "jtop service is not active (sudo jtop --install-service)")
    assert len(made) == 1


class JC:
    """jtop's JetsonClocks is truthy when jetson_clocks is on."""

    def __init__(self, on):
        self.on = on

    def __bool__(self):
        return self.on


class NVP:
    id = 0
    name = "MAXN"


class StandInJtop:
    """The attributes jtop 4.x exposes, with the shapes and units its docstrings give
    (frequencies kHz, memory KB, power mW), valued like an AGX Orin under load."""

    instances = []

    def __init__(self, interval=1.0):
        self.interval = interval
        self.started = False
        self.error = None
        self.board = {"hardware": {"Model": "NVIDIA Jetson AGX Orin Developer Kit"}}
        self.gpu = {"gpu": {"type": "integrated",
                            "status": {"railgate": False, "load": 54.3, "3d_scaling": True},
                            "freq": {"governor": "nvhost_podgov", "cur": 1300500, "max": 1300500, "min": 306000}}}
        self.memory = {"RAM": {"tot": 31_000_000, "used": 8_192_000, "free": 20_000_000,
                               "shared": 2_048_000, "buffers": 0, "cached": 0, "lfb": 3},
                       "SWAP": {"tot": 15_000_000, "used": 0, "cached": 0},
                       "EMC": {"online": True, "val": 23, "cur": 3199000, "max": 3199000, "min": 204000}}
        self.cpu = {"total": {}, "cpu": [
            {"online": True, "freq": {"cur": 2201600, "min": 115200, "max": 2201600}, "idle": 50.0},
            {"online": False}]}
        self.power = {"rail": {"VDD_GPU_SOC": {"online": True, "type": "INA3221", "volt": 4992,
                                               "curr": 1030, "power": 5139, "avg": 5100},
                               "VDD_CPU_CV": {"online": True, "power": 3268, "avg": 3200},
                               "VIN_SYS_5V0": {"online": False, "power": 0, "avg": 0}},
                      "tot": {"power": 13907, "avg": 13800, "name": "ALL"}}
        self.temperature = {"CPU": {"online": True, "temp": 52.968},
                            "CV0": {"online": False, "temp": -256},
                            "tj": {"online": True, "temp": 53.0}}
        self.nvpmodel = NVP()
        self.jetson_clocks = JC(True)
        StandInJtop.instances.append(self)

    def start(self):
        self.started = True

    def ok(self, spin=False):
        assert spin, "the collector must not block on jtop's refresh"
        if self.error:
            raise self.error
        return True

    def close(self):
        self.started = False


def test_stand_in_values():
    c = JetsonCollector(jtop_factory=StandInJtop, interval=0.25)
    ok, why = c.available()
    assert ok and "AGX Orin" in why
    j = StandInJtop.instances[-1]
    assert j.started and j.interval == 0.25
    m = c.sample()
    v = {k: x.value for k, x in m.items()}
    assert v["gpu0_util_percent"] == pytest.approx(54.3)
    assert v["gpu0_freq_mhz"] == pytest.approx(1300.5)
    assert v["mem_shared_mb"] == pytest.approx(2000)
    assert v["emc_util_percent"] == 23 and v["emc_freq_mhz"] == pytest.approx(3199)
    assert v["power_vdd_gpu_soc_w"] == pytest.approx(5.139)
    assert v["power_w"] == pytest.approx(13.907)
    assert m["power_vin_sys_5v0_w"].value is None and m["power_vin_sys_5v0_w"].reason == "rail offline"
    assert v["temp_cpu_c"] == pytest.approx(52.968)
    assert m["temp_cv0_c"].reason == "sensor offline"
    assert v["cpu0_freq_mhz"] == pytest.approx(2201.6) and m["cpu1_freq_mhz"].reason == "core offline"
    assert v["nvpmodel_id"] == 0 and v["jetson_clocks"] == 1
    info = c.info()
    assert info["nvpmodel"] == "MAXN" and info["jetson_clocks"] is True
    assert info["power_rails"] == ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]
    c.close()
    assert not j.started


def test_board_without_nvpmodel_or_power():
    def factory(interval):
        j = StandInJtop(interval)
        j.nvpmodel = None
        j.jetson_clocks = None
        j.power = {}
        return j

    m = JetsonCollector(jtop_factory=factory).sample()
    assert m["nvpmodel_id"].value is None and "not available" in m["nvpmodel_id"].reason
    assert m["jetson_clocks"].value is None
    assert m["power_w"].reason == "jtop reports no power rails on this board"


def test_lost_service_mid_run_is_contained():
    c = JetsonCollector(jtop_factory=StandInJtop)
    assert c.sample()["power_w"].value == pytest.approx(13.907)
    StandInJtop.instances[-1].error = ConnectionResetError("Lost connection with jtop server")
    m = c.sample()
    assert m["power_w"].value is None
    assert m["power_w"].reason == "ConnectionResetError: Lost connection with jtop server"


def test_start_error_passes_the_library_text():
    class Failing(StandInJtop):
        def start(self):
            raise RuntimeError("Mismatch of Python versions between library and service")

    assert JetsonCollector(jtop_factory=Failing).available() == (
        False, "jtop: Mismatch of Python versions between library and service")
