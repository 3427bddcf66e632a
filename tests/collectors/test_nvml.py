"""NVML: the real library here reports why it is not available; a stand-in module gives values."""
import types

import pytest

from collectors.nvml import NvmlCollector


def test_real_pynvml_here_reports_library_reason():
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("this machine has a working NVIDIA driver")
    except pynvml.NVMLError as exc:
        expected = str(exc)
    c = NvmlCollector()
    ok, why = c.available()
    assert not ok
    assert why == f"NVML: {expected}"  # e.g. "NVML: NVML Shared Library Not Found"
    assert c.sample() == {}


class NVMLError(Exception):
    pass


def fake_pynvml(power_supported=True, reasons=0):
    """A stand-in with pynvml's names; values as an A100 at work might report them."""
    calls = []
    nv = types.SimpleNamespace(
        NVML_TEMPERATURE_GPU=0, NVML_CLOCK_SM=1, NVML_CLOCK_MEM=2,
        nvmlClocksThrottleReasonGpuIdle=0x1,
        nvmlClocksThrottleReasonApplicationsClocksSetting=0x2,
        nvmlClocksThrottleReasonSwPowerCap=0x4,
        NVMLError=NVMLError)

    def rec(name, value):
        def fn(*a):
            calls.append(name)
            if isinstance(value, Exception):
                raise value
            return value(*a) if callable(value) else value
        return fn

    nv.nvmlInit = rec("init", None)
    nv.nvmlShutdown = rec("shutdown", None)
    nv.nvmlDeviceGetCount = rec("count", 2)
    nv.nvmlDeviceGetHandleByIndex = rec("handle", lambda i: f"h{i}")
    nv.nvmlDeviceGetName = rec("name", lambda h: b"NVIDIA A100-SXM4-40GB")
    nv.nvmlSystemGetDriverVersion = rec("driver", "550.54.15")
    nv.nvmlDeviceGetUtilizationRates = rec(
        "util", lambda h: types.SimpleNamespace(gpu=87 if h == "h0" else 0, memory=40))
    nv.nvmlDeviceGetMemoryInfo = rec(
        "mem", lambda h: types.SimpleNamespace(used=1024 * 1024 * 1024, total=40 * 1024 ** 3))
    nv.nvmlDeviceGetPowerUsage = rec(
        "power", 245123 if power_supported else NVMLError("Not Supported"))
    nv.nvmlDeviceGetTemperature = rec("temp", 61)
    nv.nvmlDeviceGetClockInfo = rec("clock", lambda h, kind: 1410 if kind == 1 else 1215)
    nv.nvmlDeviceGetCurrentClocksThrottleReasons = rec("reasons", reasons)
    nv.calls = calls
    return nv


def test_stand_in_values_per_gpu():
    nv = fake_pynvml()
    c = NvmlCollector(pynvml=nv)
    ok, why = c.available()
    assert ok and "2 GPU(s): NVIDIA A100-SXM4-40GB" in why and "550.54.15" in why
    v = {k: m.value for k, m in c.sample().items()}
    assert v["gpu0_util_percent"] == 87 and v["gpu1_util_percent"] == 0
    assert v["gpu0_mem_used_mb"] == 1024 and v["gpu0_mem_total_mb"] == 40 * 1024
    assert v["gpu0_power_w"] == pytest.approx(245.123)
    assert v["gpu0_temp_c"] == 61
    assert v["gpu0_sm_clock_mhz"] == 1410 and v["gpu0_mem_clock_mhz"] == 1215
    assert v["gpu0_throttled"] == 0
    assert c.info()["gpus"] == ["NVIDIA A100-SXM4-40GB"] * 2
    c.close()
    assert nv.calls[0] == "init" and nv.calls[-1] == "shutdown"


def test_unsupported_query_is_na_for_that_metric_only():
    c = NvmlCollector(pynvml=fake_pynvml(power_supported=False))
    m = c.sample()
    assert m["gpu0_power_w"].value is None and m["gpu0_power_w"].reason == "NVMLError: Not Supported"
    assert m["gpu0_temp_c"].value == 61


def test_throttle_reasons():
    assert NvmlCollector(pynvml=fake_pynvml(reasons=0x1 | 0x2)).sample()["gpu0_throttled"].value == 0
    assert NvmlCollector(pynvml=fake_pynvml(reasons=0x4)).sample()["gpu0_throttled"].value == 1


def test_init_error_is_not_available():
    nv = fake_pynvml()
    nv.nvmlInit = lambda: (_ for _ in ()).throw(NVMLError("Driver Not Loaded"))
    assert NvmlCollector(pynvml=nv).available() == (False, "NVML: Driver Not Loaded")
