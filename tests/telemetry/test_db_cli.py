"""`edgemt export` and `edgemt diff` on runs written into a DB directly, with known power."""
import csv
import json

import pytest

from edgemt_testlib import run_edgemt
from storage.store import Store

HOST_A = {"board_model": "NVIDIA Jetson TX2 Developer Kit", "kernel": "4.9.337-tegra",
          "l4t": {"release": "32.7.5"}, "nvpmodel": {"name": "MAXN", "id": 0}, "jetson_clocks": True,
          "cpu_governor": "schedutil", "frameworks": {"torch": {"framework_version": "1.10.0"}},
          "state_at_start": {"temp_cpu_c": 41.0, "power_w": 3.1}}
HOST_B = {**HOST_A, "nvpmodel": {"name": "MAXQ", "id": 1}, "jetson_clocks": False,
          "frameworks": {"torch": {"framework_version": "1.11.0"}},
          "state_at_start": {"temp_cpu_c": 48.5, "power_w": 3.4}}


def _write_run(st, host, images_per_window, power=None):
    run = st.create_run("run", {"tenants": ["mobilenet_v2"], "measured": {"since": 2.0, "until": 6.0}}, host)
    cpu = st.add_tenant(run, group_id=1, model="mobilenet_v2", framework="torch", resource="cpu", batch=1,
                        isolation="process", status="stopped")
    gpu = st.add_tenant(run, group_id=2, model="mobilenet_v2", framework="torch", resource="cuda:0", batch=1,
                        isolation="process", status="stopped")
    for t in range(0, 6):
        st.add_window(cpu, float(t), t + 1.0, images_per_window, images_per_window, 1, {})
        st.add_window(gpu, float(t), t + 1.0, 3 * images_per_window, 3 * images_per_window, 1, {})
    for k in range(0, 15):  # 0..7 s at 2 Hz
        t = k / 2
        st.add_sample(run, t, {"cpu_percent": 50.0, **({} if power is None else power(t))})
    st.end_run(run, "done")
    return run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "e.db"
    st = Store(path)
    # run 1: P = 2 + t on the board, a constant 1 W CPU rail (TX2-like VDD_SYS_CPU); run 2: no power
    _write_run(st, HOST_A, 10, lambda t: {"power_w": 2.0 + t, "power_vdd_sys_cpu_w": 1.0})
    _write_run(st, HOST_B, 12)
    st.close()
    return path


def test_export_timeline_has_power_and_joules_per_image(db, tmp_path):
    out = tmp_path / "t.csv"
    run_edgemt("export", "--db", str(db), "--run", "1", "--out", str(out), check=0)
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 12 and "power_w" in rows[0] and "joules_per_image" in rows[0]
    for r in rows:
        t0, t1 = float(r["t_start"]), float(r["t_end"])
        mean = 2.0 + (t0 + t1) / 2  # exact for the ramp
        assert float(r["power_w"]) == pytest.approx(mean, abs=1e-3)
        assert float(r["joules_per_image"]) == pytest.approx(mean * (t1 - t0) / 40, abs=1e-6)  # 10 + 30 images a slot
    run_edgemt("export", "--db", str(db), "--run", "2", "--out", str(out), check=0)
    assert "power_w" not in next(csv.reader(open(out)))  # no power sampled: the columns are not there


def test_diff_json(db):
    d = json.loads(run_edgemt("diff", "1", "2", "--db", str(db), "--json", check=0).stdout)
    fp = d["fingerprint"]["changed"]
    assert fp["nvpmodel.name"] == ["MAXN", "MAXQ"] and fp["jetson_clocks"] == [True, False]
    assert fp["frameworks.torch.framework_version"] == ["1.10.0", "1.11.0"]
    assert "kernel" not in fp and d["fingerprint"]["same"] >= 4
    assert d["state_at_start"]["changed"]["temp_cpu_c"] == [41.0, 48.5]
    rows = {r["what"]: r for r in d["results"]}
    assert rows["total img/s"]["a"] == pytest.approx(40.0) and rows["total img/s"]["b"] == pytest.approx(48.0)
    assert rows["total img/s"]["ratio"] == pytest.approx(1.2)
    assert rows["placement torch@cpu img/s"]["a"] == 10.0 and rows["group g2 img/s"]["b"] == 36.0
    # run 1's J/img over its measured phase 2..6 s: (4*2 + (36-4)/2) / 160
    assert rows["total J/img"]["a"] == pytest.approx(24.0 / 160) and rows["total J/img"]["b"] is None
    assert rows["placement torch@cpu J/img"]["a"] == pytest.approx(4.0 / 40)
    assert "power not measured" in d["energy_reason"][1]


def test_diff_text(db):
    out = run_edgemt("diff", "1", "2", "--db", str(db), check=0).stdout
    assert "nvpmodel.name" in out and "MAXQ" in out and "total img/s" in out and "1.200" in out
    assert "power not measured" in out


def test_diff_unknown_run_is_one_line(db):
    p = run_edgemt("diff", "1", "9", "--db", str(db), check=2)
    assert p.stderr.strip().count("\n") == 0 and "run 9 is not in the DB; runs: 1, 2" in p.stderr


def test_run_energy_for_ui(db):
    from storage import schema
    from storage.energy import run_energy

    conn = schema.connect(db, readonly=True)
    e = run_energy(conn, 1)
    assert e["span"] == [2.0, 6.0] and e["energy_j"] == pytest.approx(24.0)
    assert e["resources"]["cpu"]["rail"] == "power_vdd_sys_cpu_w"
    assert e["placements"]["torch@cuda:0"]["joules_per_inference"] is None
    assert run_energy(conn, 2)["reason"].startswith("power not measured")
    conn.close()
