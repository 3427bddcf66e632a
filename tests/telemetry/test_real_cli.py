"""Real `edgemt run`s with a stand-in INA219 (a module named `ina219` first on PYTHONPATH,
imported by collectors/ina219.py exactly as pi-ina219 would be), then `edgemt diff` and
`edgemt export` on them, and `edgemt devices --json` on this machine."""
import csv
import json
import os
import sqlite3

import pytest

from edgemt_testlib import require_env, run_edgemt

STAND_IN = '''
class INA219:
    """pi-ina219's INA219 as the collector calls it: a constant 5 V, 800 mA, 4000 mW."""
    def __init__(self, shunt_ohms, max_expected_amps=None, busnum=None, address=0x40, **kw):
        pass
    def configure(self, *a, **k):
        pass
    def voltage(self):
        return 5.0
    def current(self):
        return 800.0
    def power(self):
        return 4000.0
'''


def test_energy_fingerprint_diff_on_real_runs(edgemt_home):
    require_env("torch")
    fake = edgemt_home / "fake_ina219"
    fake.mkdir()
    (fake / "ina219.py").write_text(STAND_IN)
    env = {**os.environ, "PYTHONPATH": str(fake)}
    db = edgemt_home / "edgemt.db"
    spec = "mobilenet_v2,threads=1"
    a = json.loads(run_edgemt("run", "--tenant", spec, "--duration", "2", "--json", env=env, check=0).stdout)
    # run 1: board power measured (4 W), J/img beside every throughput
    assert a["energy"]["measured"] and a["energy"]["mean_power_w"] == pytest.approx(4.0)
    images = sum(t["images"] for t in a["tenants"])
    assert a["energy_j"] == pytest.approx(4.0 * a["measured_s"], rel=1e-3)
    assert a["joules_per_inference"] == pytest.approx(4.0 * a["measured_s"] / images, rel=1e-3)
    assert a["run_energy_j"] > a["energy_j"]
    # no CPU rail on an INA219 board: placement and tenant figures are n/a, and say why
    assert a["placement_joules_per_inference"] == {"torch@cpu": None}
    assert "board-level only" in a["energy"]["placements"]["torch@cpu"]["reason"]
    assert a["tenants"][0]["joules_per_inference"] is None

    b = json.loads(run_edgemt("run", "--tenant", spec, "--duration", "1", "--json", check=0).stdout)
    assert b["energy_j"] is None and b["joules_per_inference"] is None
    assert b["energy"]["reason"].startswith("power not measured")

    c = sqlite3.connect(db)
    host = json.loads(c.execute("SELECT host FROM runs WHERE id = ?", (a["run_id"],)).fetchone()[0])
    c.close()
    for key in ("board_model", "kernel", "l4t", "nvpmodel", "jetson_clocks", "cpu_governor", "libedgetpu"):
        assert key in host  # None where this VM has no such thing
    assert host["kernel"] and host["collectors"]["ina219"]["available"]
    assert host["state_at_start"]["power_w"] == 4.0
    torch = host["frameworks"]["torch"]  # from the child's hello and loaded
    assert torch["framework_version"] and torch["numpy"] and torch["loaded_runtimes"][0].startswith("torch ")

    d = json.loads(run_edgemt("diff", str(a["run_id"]), str(b["run_id"]), "--json", check=0).stdout)
    assert d["fingerprint"]["changed"]["collectors.ina219.available"] == [True, False]
    assert d["state_at_start"]["removed"]["power_w"] == 4.0
    assert d["params"]["changed"]["duration"] == [2.0, 1.0]
    rows = {r["what"]: r for r in d["results"]}
    assert rows["total img/s"]["a"] == pytest.approx(a["total_throughput"], rel=0.02)
    assert rows["total img/s"]["b"] == pytest.approx(b["total_throughput"], rel=0.02)
    assert rows["total J/img"]["a"] == pytest.approx(a["joules_per_inference"], rel=1e-3)

    out = edgemt_home / "a.csv"
    run_edgemt("export", "--run", str(a["run_id"]), "--out", str(out), check=0)
    rows = list(csv.DictReader(open(out)))
    measured = [r for r in rows if float(r["t_start"]) >= a["energy"]["span"][0] - 1e-3
                and float(r["t_end"]) <= a["energy"]["span"][1] + 1e-3]
    assert measured and all(float(r["power_w"]) == 4.0 for r in measured)
    for r in measured:
        if int(r["images"]):
            span = float(r["t_end"]) - float(r["t_start"])
            assert float(r["joules_per_image"]) == pytest.approx(4.0 * span / int(r["images"]), rel=1e-3)


def test_devices_json_here(edgemt_home):
    out = json.loads(run_edgemt("devices", "--json", check=0).stdout)
    cols = {c["name"]: c for c in out["collectors"]}
    assert cols["host"]["available"] and "cpu_percent" in cols["host"]["metrics"] and cols["host"]["info"]
    reasons = {
        "nvml": "NVML",
        "jetson": "jtop service is not active",
        "tegrastats": "'tegrastats' not found",
        "ina219": "INA219 at 0x40",
        "edgetpu": "no EdgeTPU found",
    }
    for name, why in reasons.items():
        assert not cols[name]["available"] and why in cols[name]["detail"], cols[name]
    assert out["edgetpu"].startswith("not available: no EdgeTPU found")
    assert not any(r["resource"].startswith("edgetpu") for r in out["resources"])
    assert any(r["resource"] == "cpu" for r in out["resources"])
    assert out["power"].startswith("not measured") and "ina219: INA219 at 0x40" in out["power"]
