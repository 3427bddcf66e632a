"""Oracle: level figures and energy end to end (CLI -> Supervisor -> oracle child -> DB).
Issue 11, defects 4 and 5: a level's figure is its steady windows' rate (the ramp kept
apart), and energy, joules per image, images and seconds are over one span.

Power comes from a stand-in INA219 (a module named ``ina219`` first on PYTHONPATH,
imported by collectors/ina219.py as pi-ina219 would be) whose reading is a known function
of the monotonic clock, so the energy of any span has an analytic value."""
import json
import math
import os
import sqlite3
import time

import pytest

from edgemt_testlib import run_edgemt

FAST_S = 0.02  # a batch once the tenant is up to speed
SLOW_S = 0.1  # a batch during the ramp

# P(t) = 3 W + 0.2 W/s * (t - T0) + 0.5 W * sin(2 pi t / 20 s), t = time.monotonic(), T0
# the test's start: a ramp and a wave, integrated exactly by test and edgemt alike only if
# edgemt stamps, interpolates and integrates the samples right
STAND_IN = '''
import math, time

T0 = %r

def watts(t):
    return 3.0 + 0.2 * (t - T0) + 0.5 * math.sin(2 * math.pi * t / 20.0)

class INA219:
    def __init__(self, shunt_ohms, max_expected_amps=None, busnum=None, address=0x40, **kw):
        pass
    def configure(self, *a, **k):
        pass
    def voltage(self):
        return 5.0
    def current(self):
        return watts(time.monotonic()) * 200.0
    def power(self):
        return watts(time.monotonic()) * 1000.0
'''


def energy_between(t0, t1, T0):
    """The analytic integral of the stand-in's P over monotonic [t0, t1]."""
    a, b = t0 - T0, t1 - T0
    w = 2 * math.pi / 20.0
    return 3.0 * (t1 - t0) + 0.1 * (b * b - a * a) - 0.5 / w * (math.cos(w * t1) - math.cos(w * t0))


def power_env(home, T0):
    fake = home / "fake_ina219"
    fake.mkdir(exist_ok=True)
    (fake / "ina219.py").write_text(STAND_IN % T0)
    path = os.pathsep.join(p for p in (str(fake), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def db_rows(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


@pytest.mark.parametrize("duration,window", [("2.5", "1"), ("1.25", "0.5")])
def test_energy_and_joules_per_image_over_one_span(oracle_home, duration, window):
    oracle_home.model("*", batch_s=FAST_S)
    T0 = time.monotonic()
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,count=2", "--duration", duration, "--window", window,
                      "--json", env=power_env(oracle_home.home, T0), check=0)
    out = json.loads(proc.stdout)
    (params,) = db_rows(oracle_home.db, "SELECT params FROM runs WHERE id = ?", (out["run_id"],))[0]
    m = json.loads(params)["measured"]
    since, until = m["since"], m["until"]
    w = float(window)
    # whole windows: --duration rounded up (2.5 s of 1 s windows = 3 s)
    assert until - since == pytest.approx(math.ceil(float(duration) / w) * w)
    assert out["measured_s"] == pytest.approx(until - since)
    # the same images everywhere: tenant rows, the energy's span, the DB's windows in the span
    images = sum(t["images"] for t in out["tenants"])
    db_images = db_rows(oracle_home.db, "SELECT SUM(images) FROM windows WHERE t_start >= ? AND t_end <= ?",
                        (since - 1e-3, until + 1e-3))[0][0]
    assert images == out["energy"]["images"] == db_images
    assert out["images"] == images and out["span"] == [since, until]
    assert out["total_throughput"] == pytest.approx(images / (until - since), abs=1e-3)
    assert out["total_throughput"] == pytest.approx(2 / FAST_S, rel=0.05)
    # energy: the analytic integral of the power over the span, within 0.5 %
    (t0,) = db_rows(oracle_home.db, "SELECT t0_monotonic FROM runs WHERE id = ?", (out["run_id"],))[0]
    expected = energy_between(t0 + since, t0 + until, T0)
    assert out["energy_j"] == pytest.approx(expected, rel=0.005)
    # the sampler's ticks on a loaded machine may leave a sliver of the span uncovered
    # (0.999 seen at load 17); the energy check above holds either way
    assert out["energy"]["coverage"] == pytest.approx(1.0, abs=0.01)
    # joules per image = energy / images of the same span
    # J/img is printed to 5 decimals: allow half of the last digit beside the relative error
    assert out["joules_per_inference"] == pytest.approx(out["energy_j"] / images, rel=1e-4, abs=5e-6)


def images_between(db, since, until):
    return db_rows(db, "SELECT SUM(images) FROM windows WHERE t_start >= ? AND t_end <= ?",
                   (since - 1e-3, until + 1e-3))[0][0]


def level_span(db, run_id):
    (value,) = db_rows(db, "SELECT value FROM results WHERE run = ? AND key LIKE '%\"level\"%'", (run_id,))[0]
    v = json.loads(value)
    return v["since"], v["until"]


def ramp_timing():
    # 20 slow batches (the 3 warm-up batches among them), then fast: a ramp of ~1.7 s
    return {"cycle_s": [SLOW_S] * 20 + [FAST_S] * 5000}


def test_a_level_is_its_steady_windows_rate(oracle_home):
    oracle_home.model("*", **ramp_timing())
    proc = run_edgemt("sweep", "concurrency", "--tenant", "mobilenet_v2", "--max", "1", "--window", "1",
                      "--json", check=0)
    out = json.loads(proc.stdout)
    level = out["summary"]["levels"]["1"]
    # the steady windows: 50 img/s (3 windows of 1 s: +-1 batch in 150, 0.7 %; a child
    # starved for over 0.25 s on a loaded machine restarts its schedule, hence 5 %)
    assert level["throughput"] == pytest.approx(1 / FAST_S, rel=0.05)
    assert level["ok"] and level["steady"]
    assert level["measured_s"] == pytest.approx(3.0)
    # exactly the rate of the DB's windows in the level's span: the last 3 of its phase
    since, until = level_span(oracle_home.db, out["run_id"])
    assert level["throughput"] == pytest.approx(images_between(oracle_home.db, since, until) / 3.0, abs=1e-3)
    last3 = oracle_home.rows("SELECT t_start, t_end FROM windows WHERE t_end <= ? ORDER BY t_start DESC LIMIT 3",
                             (until + 1e-3,))
    assert min(r[0] for r in last3) == pytest.approx(since) and max(r[1] for r in last3) == pytest.approx(until)
    # the ramp is kept and shown apart, below the steady rate
    assert level["ramp_throughput"] is not None and level["ramp_throughput"] < 0.8 / FAST_S
    # the results row says the same as --json
    (value,) = db_rows(oracle_home.db, "SELECT value FROM results WHERE run = ? AND key LIKE '%\"level\"%'",
                       (out["run_id"],))[0]
    row = json.loads(value)
    assert row["throughput"] == level["throughput"] and row["ramp_throughput"] == level["ramp_throughput"]
    trial = row["trials"][0]
    assert trial["ramp"]["until"] == trial["since"] and trial["steady"]


def test_a_run_to_the_steady_state_reports_the_steady_windows(oracle_home):
    oracle_home.model("*", **ramp_timing())
    proc = run_edgemt("run", "--tenant", "mobilenet_v2", "--window", "1", "--json", check=0)
    out = json.loads(proc.stdout)
    assert out["steady"] and out["measured_s"] == pytest.approx(3.0)
    since, until = out["span"]
    exact = images_between(oracle_home.db, since, until) / (until - since)
    assert out["total_throughput"] == pytest.approx(exact, abs=1e-3)
    assert out["tenants"][0]["throughput"] == pytest.approx(exact, abs=1e-3)
    assert exact == pytest.approx(1 / FAST_S, rel=0.05)  # see the level test for 5 %
    assert out["ramp"] is not None and out["ramp"]["throughput"] < 0.8 / FAST_S
    assert out["ramp"]["until"] == out["span"][0]
