"""EdgeTPU enumeration, usbmon, throttling and the fingerprint, on sysfs trees laid out in tmp."""
import json
import stat
import sys

import pytest

from collectors import enumerate_edgetpus, fingerprint
from collectors.edgetpu import USBMON_NA, EdgeTpuCollector, UsbmonCounter, parse_usbmon_line
from collectors.host import HostCollector
from collectors.throttle import ThrottleCollector, parse_rpi_throttled, rpi_flags
from collectors_testdata import DATA


def _usb(root, name, vid, pid, bus, dev):
    d = root / "bus/usb/devices" / name
    d.mkdir(parents=True)
    for k, v in (("idVendor", vid), ("idProduct", pid), ("busnum", bus), ("devnum", dev)):
        (d / k).write_text(f"{v}\n")


@pytest.fixture
def sysfs(tmp_path):
    root = tmp_path / "sys"
    _usb(root, "1-1", "1d6b", "0002", 1, 1)     # a root hub: not a TPU
    _usb(root, "2-1", "18d1", "9302", 2, 5)     # Coral USB, runtime loaded
    _usb(root, "2-2", "1a6e", "089a", 2, 7)     # Coral USB, before first use
    for n, milli in ((0, "41250"), (1, "38000")):
        d = root / f"class/apex/apex_{n}"
        d.mkdir(parents=True)
        (d / "temp").write_text(milli + "\n")
    return root


def test_enumerate(sysfs, tmp_path):
    assert enumerate_edgetpus(sysfs) == ["edgetpu:usb:0", "edgetpu:usb:1", "edgetpu:pci:0", "edgetpu:pci:1"]
    assert enumerate_edgetpus(tmp_path / "empty") == []


def test_collector_temps_and_usbmon_not_readable(sysfs, tmp_path):
    c = EdgeTpuCollector(sysfs_root=sysfs, debugfs_root=tmp_path / "no-debugfs")
    ok, detail = c.available()
    assert ok and "edgetpu:pci:1" in detail
    m = c.sample()
    assert m["edgetpu_count"].value == 4
    assert m["edgetpu_pci0_temp_c"].value == pytest.approx(41.25)
    assert m["edgetpu_pci1_temp_c"].value == pytest.approx(38.0)
    assert m["edgetpu_usb0_bytes_s"].value is None
    assert m["edgetpu_usb0_bytes_s"].reason == USBMON_NA
    assert c.info()["usb"][1]["state"] == "before firmware load"


def test_no_edgetpu_is_not_available(tmp_path):
    ok, why = EdgeTpuCollector(sysfs_root=tmp_path).available()
    assert not ok and why.startswith("no EdgeTPU found")


def test_usbmon_doc_examples_parse():
    lines = [x for x in (DATA / "usbmon/doc_examples.txt").read_text().splitlines() if not x.startswith("#")]
    parsed = [parse_usbmon_line(x) for x in lines]
    assert parsed == [None, (1, 1, 4), None, (1, 5, 31)]


def test_usbmon_counter_on_a_readable_file(sysfs, tmp_path):
    # usbmon's <bus>u file, here a plain file holding the kernel doc's records re-addressed to bus 2 dev 5
    mon = tmp_path / "debug/usb/usbmon"
    mon.mkdir(parents=True)
    text = (DATA / "usbmon/doc_examples.txt").read_text().replace(":1:005:", ":2:005:")
    (mon / "2u").write_text(text)
    counter = UsbmonCounter(mon / "2u")
    counter._thread.join(timeout=2)
    assert counter.total(2, 5) == 31

    ticks = iter([0.0, 0.0, 2.0, 2.0, 2.0])
    c = EdgeTpuCollector(sysfs_root=sysfs, debugfs_root=tmp_path / "debug", clock=lambda: next(ticks))
    assert c.available()[0]
    c._mon[2]._thread.join(timeout=2)
    c._prev["edgetpu:usb:0"] = (0.0, 0)  # the file was read whole before the probe's baseline
    m = c.sample()
    assert m["edgetpu_usb0_bytes_s"].value == pytest.approx(31 / 2.0)
    assert m["edgetpu_usb1_bytes_s"].value == 0.0


# -- throttling --

def test_rpi_flag_parsing():
    assert parse_rpi_throttled("throttled=0x50005\n") == 0x50005
    assert parse_rpi_throttled("50000") == 0x50000
    assert rpi_flags(0x50005) == ["under-voltage", "throttled", "under-voltage since boot", "throttled since boot"]


def test_rpi_sysfs_throttled(tmp_path):
    f = tmp_path / "devices/platform/soc/soc:firmware/get_throttled"
    f.parent.mkdir(parents=True)
    f.write_text("50000\n")  # throttled and under-voltage in the past, not now
    c = ThrottleCollector(sysfs_root=tmp_path, vcgencmd=None)
    assert c.available()[0]
    m = c.sample()
    assert m["throttled"].value == 0 and m["throttled_since_boot"].value == 1
    f.write_text("50005\n")
    m = c.sample()
    assert m["throttled"].value == 1 and m["undervoltage"].value == 1
    assert c.info()["rpi_throttled_meaning"][0] == "under-voltage"


def test_vcgencmd_command_path(tmp_path):
    vc = tmp_path / "vcgencmd"
    vc.write_text(f"#!{sys.executable}\nimport sys\nassert sys.argv[1:] == ['get_throttled']\n"
                  "print('throttled=0x4')\n")
    vc.chmod(vc.stat().st_mode | stat.S_IEXEC)
    # the stand-in is a Python start, which a loaded machine can hold past the real tool's 1 s
    c = ThrottleCollector(sysfs_root=tmp_path, vcgencmd=str(vc), timeout_s=60)
    ok, why = c.available()
    assert ok and "get_throttled" in why, why
    assert c.sample()["throttled"].value == 1


def test_thermal_cooling_caps(tmp_path):
    for i, (kind, state) in enumerate((("cpu-balanced", "0"), ("gpu-balanced", "2"), ("pwm-fan", "3"))):
        d = tmp_path / f"class/thermal/cooling_device{i}"
        d.mkdir(parents=True)
        (d / "type").write_text(kind + "\n")
        (d / "cur_state").write_text(state + "\n")
    c = ThrottleCollector(sysfs_root=tmp_path, vcgencmd=None)
    ok, why = c.available()
    assert ok and "pwm-fan" not in why and "gpu-balanced" in why
    m = c.sample()
    assert m["throttled"].value == 1 and m["thermal_caps_active"].value == 1


def test_no_throttle_source(tmp_path):
    ok, why = ThrottleCollector(sysfs_root=tmp_path, vcgencmd=str(tmp_path / "none")).available()
    assert not ok and why.startswith("board reports no throttling state")


# -- fingerprint --

def test_fingerprint_from_board_files(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "nv_tegra_release").write_bytes((DATA / "board/nv_tegra_release").read_bytes())
    dt = tmp_path / "dt"
    dt.mkdir()
    (dt / "model").write_bytes((DATA / "board/model").read_bytes())
    gov = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq"
    gov.mkdir(parents=True)
    (gov / "scaling_governor").write_text("schedutil\n")
    therm = tmp_path / "sys/class/thermal/cooling_device0"
    therm.mkdir(parents=True)
    (therm / "type").write_text("cpu-balanced\n")
    (therm / "cur_state").write_text("0\n")
    cols = [HostCollector(sysfs_root=tmp_path / "sys"), ThrottleCollector(sysfs_root=tmp_path / "sys", vcgencmd=None)]
    fp = fingerprint(sysfs_root=tmp_path / "sys", devicetree_root=dt, etc_root=etc,
                     nvpmodel=str(tmp_path / "no-nvpmodel"), collectors=cols)
    assert fp["board_model"] == "Jetson AGX Orin Developer Kit"
    assert fp["l4t"]["release"] == "35.4.1" and fp["l4t"]["board"] == "t186ref"
    assert fp["cpu_governor"] == "schedutil"
    assert fp["kernel"] and fp["cpu_cores"] >= 1 and fp["mem_total_mb"] > 0
    assert fp["collectors"]["host"]["available"] is True
    assert fp["state_at_start"]["throttled"] == 0
    json.dumps(fp)  # JSON-serialisable


def test_fingerprint_here_is_json():
    fp = fingerprint()
    json.loads(json.dumps(fp))
    assert fp["machine"]
