"""storage/energy.py on known power series: exact integrals, gaps, rails, J/inference."""
import math

import pytest

from collectors.tegrastats import parse_line
from storage import energy
from storage.energy import energy_summary, integrate, rail_resource, resource_rails, series, trapezoid

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collectors"))
from collectors_testdata import captured_line  # noqa: E402


def grid(f, t0, t1, dt):
    n = round((t1 - t0) / dt)
    return [(t0 + i * dt, f(t0 + i * dt)) for i in range(n + 1)]


def test_constant_power_gives_power_times_time():
    pts = grid(lambda t: 5.0, 0.0, 10.0, 0.5)
    assert trapezoid(pts) == pytest.approx(50.0)
    i = integrate(pts, 0.0, 10.0)
    assert i.energy_j == pytest.approx(50.0) and i.mean_w == pytest.approx(5.0)
    assert i.coverage == pytest.approx(1.0) and i.samples == 21


def test_ramp_is_integrated_exactly_with_edges_between_samples():
    pts = grid(lambda t: 2.0 * t, 0.0, 4.0, 1.0)  # P = 2t W: E(a, b) = b^2 - a^2 J
    assert integrate(pts, 0.0, 4.0).energy_j == pytest.approx(16.0)
    i = integrate(pts, 0.25, 3.5)  # edges interpolated from the samples either side
    assert i.energy_j == pytest.approx(3.5 ** 2 - 0.25 ** 2)
    assert i.mean_w == pytest.approx((3.5 ** 2 - 0.25 ** 2) / 3.25)
    assert i.samples == 3 and i.coverage == pytest.approx(1.0)


def test_span_inside_one_sample_interval():
    pts = [(0.0, 2.0), (2.0, 6.0)]  # P = 2 + 2t
    i = integrate(pts, 0.5, 1.5)
    assert i.energy_j == pytest.approx(2 * 1.0 + (1.5 ** 2 - 0.5 ** 2))
    assert i.samples == 0


def test_gap_is_not_integrated_and_coverage_says_so():
    pts = [(0.0, 3.0), (1.0, 3.0), (20.0, 3.0), (21.0, 3.0)]
    i = integrate(pts, 0.0, 21.0, max_gap_s=10.0)
    assert i.measured_j == pytest.approx(6.0) and i.covered_s == pytest.approx(2.0)
    assert i.energy_j == pytest.approx(3.0 * 21.0)  # the uncovered rest at the covered mean
    assert i.coverage == pytest.approx(2 / 21)


def test_samples_starting_late_cover_part_of_the_span():
    pts = grid(lambda t: 4.0, 2.0, 10.0, 1.0)
    i = integrate(pts, 0.0, 10.0)
    assert i.covered_s == pytest.approx(8.0) and i.measured_j == pytest.approx(32.0)
    assert i.energy_j == pytest.approx(40.0) and i.coverage == pytest.approx(0.8)


@pytest.mark.parametrize("pts,reason", [([], "no power sample in the span"),
                                        ([(1.0, 5.0)], "fewer than 2 power samples cover the span")])
def test_too_few_samples_give_none_with_reason(pts, reason):
    i = integrate(pts, 0.0, 2.0)
    assert i.energy_j is None and i.mean_w is None and i.reason == reason


def test_series_drops_null_and_nan_and_sorts():
    rows = [{"t": 2.0, "power_w": 1.0}, {"t": 1.0, "power_w": None}, {"t": 0.0, "power_w": 3.0},
            {"t": 3.0, "power_w": math.nan}, {"t": 4.0}]
    assert series(rows, "power_w") == [(0.0, 3.0), (2.0, 1.0)]


@pytest.mark.parametrize("column,resource", [
    ("gpu0_power_w", "cuda:0"), ("gpu1_power_w", "cuda:1"),
    ("power_vdd_sys_gpu_w", "cuda:0"), ("power_vdd_sys_cpu_w", "cpu"),
    ("power_pom_5v_gpu_w", "cuda:0"), ("power_pom_5v_cpu_w", "cpu"),
    ("power_gpu_w", "cuda:0"), ("power_cpu_w", "cpu"), ("power_vdd_cpu_w", "cpu"),
    ("power_vdd_cpu_gpu_cv_w", None), ("power_vdd_gpu_soc_w", None), ("power_vdd_cpu_cv_w", None),
    ("power_vdd_in_w", None), ("power_vdd_sys_gpu_avg_w", None), ("power_w", None), ("ina219_power_w", None),
])
def test_rail_to_resource(column, resource):
    r, why = rail_resource(column)
    assert r == resource
    assert (why is None) == (resource is not None)


def test_rails_of_captured_tegrastats_lines():
    """Which boards can split energy per resource, from the real lines in tests/data."""
    got = {b: resource_rails(parse_line(captured_line(b + ".txt")).values)
           for b in ("tx1", "tx2", "nano", "agx_xavier", "xavier_nx", "orin_nx_r35", "agx_orin_r36")}
    assert got["tx2"] == {"cpu": "power_vdd_sys_cpu_w", "cuda:0": "power_vdd_sys_gpu_w"}
    assert got["nano"] == {"cpu": "power_pom_5v_cpu_w", "cuda:0": "power_pom_5v_gpu_w"}
    assert got["agx_xavier"] == {"cpu": "power_cpu_w", "cuda:0": "power_gpu_w"}
    assert got["tx1"] == {"cpu": "power_vdd_cpu_w", "cuda:0": "power_vdd_gpu_w"}
    # Shared rails (VDD_CPU_GPU_CV, VDD_GPU_SOC, VDD_CPU_CV): board level only.
    assert got["xavier_nx"] == got["orin_nx_r35"] == got["agx_orin_r36"] == {}


def _windows():
    # tenants 1, 2: torch@cpu; tenant 3: torch@cuda:0; 1 s windows on the grid 10..14
    out = []
    for t in range(10, 14):
        out += [dict(tenant=1, group=1, framework="torch", resource="cpu", t_start=t, t_end=t + 1, images=10),
                dict(tenant=2, group=1, framework="torch", resource="cpu", t_start=t, t_end=t + 1, images=30),
                dict(tenant=3, group=2, framework="torch", resource="cuda:0", t_start=t, t_end=t + 1, images=60)]
    out.append(dict(tenant=3, group=2, framework="torch", resource="cuda:0", t_start=9, t_end=10, images=999))
    return out


def test_summary_board_and_cpu_rail():
    samples = [{"t": t / 2, "power_w": 6.0, "power_cpu_w": 1.5, "power_vdd_cpu_gpu_cv_w": 2.0}
               for t in range(0, 41)]  # 0..20 s at 2 Hz
    e = energy_summary(samples, _windows(), 10.0, 14.0)
    assert e["measured"] and e["images"] == 400  # the window before the span is left out
    assert e["energy_j"] == pytest.approx(24.0) and e["mean_power_w"] == pytest.approx(6.0)
    assert e["joules_per_inference"] == pytest.approx(24.0 / 400)
    assert e["run_energy_j"] == pytest.approx(120.0) and e["coverage"] == 1.0
    cpu = e["resources"]["cpu"]
    assert cpu["rail"] == "power_cpu_w" and cpu["energy_j"] == pytest.approx(6.0)
    assert cpu["joules_per_inference"] == pytest.approx(6.0 / 160)
    assert e["resources"]["cuda:0"]["joules_per_inference"] is None
    assert "no power rail of cuda:0 alone" in e["resources"]["cuda:0"]["reason"]
    p = e["placements"]
    assert p["torch@cpu"]["joules_per_inference"] == pytest.approx(6.0 / 160)
    assert p["torch@cuda:0"]["joules_per_inference"] is None and p["torch@cuda:0"]["reason"]
    # the cpu rail's energy shared in proportion to images: 40 and 120 of 160
    assert e["tenants"][1]["energy_j"] == pytest.approx(1.5) and e["tenants"][2]["energy_j"] == pytest.approx(4.5)
    assert e["tenants"][1]["joules_per_inference"] == e["tenants"][2]["joules_per_inference"]


def test_summary_without_power_says_not_measured():
    samples = [{"t": t / 2, "cpu_percent": 50.0} for t in range(0, 41)]
    e = energy_summary(samples, _windows(), 10.0, 14.0)
    assert not e["measured"] and e["reason"] == energy.NOT_MEASURED
    assert e["energy_j"] is None and e["joules_per_inference"] is None and e["run_energy_j"] is None
    for part in ("resources", "placements", "tenants"):
        for v in e[part].values():
            assert v["joules_per_inference"] is None and v["reason"] == energy.NOT_MEASURED


def test_summary_power_ramp_matches_closed_form():
    samples = [{"t": t / 4, "power_w": 1.0 + t / 4} for t in range(0, 81)]  # P = 1 + t on 0..20 s
    e = energy_summary(samples, _windows(), 10.0, 14.0)
    exact = (14 - 10) + (14 ** 2 - 10 ** 2) / 2
    assert e["energy_j"] == pytest.approx(exact) and e["joules_per_inference"] == pytest.approx(exact / 400)


def test_window_power():
    pts = grid(lambda t: 2.0 * t, 0.0, 4.0, 0.5)
    w, j = energy.window_power(pts, 1.0, 2.0)
    assert j == pytest.approx(3.0) and w == pytest.approx(3.0)
    assert energy.window_power(pts, 5.0, 6.0) == (None, None)
