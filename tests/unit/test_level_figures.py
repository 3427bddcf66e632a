"""The figures of a level (runners/measure.py, runners/experiments/common.py) on windows
whose rates are known: the steady windows' rate, whole-window spans, no-batch levels,
resources over the intervals the samples describe (issue 11, defects 4, 5, 8, 9)."""
import asyncio

import pytest

from fake_supervisor import FakeSupervisor, FakeTenant
from storage import aggregate
from storage.aggregate import Window
from runners.experiments.common import Context, measure_level, resource_means
from runners.measure import measure, tenant_summary
from storage.store import Store

W = 0.1  # seconds per window: short, the rates are per window and do not depend on it


def ctx_for(sup, tmp_path, **kw):
    store = Store(tmp_path / "e.db")
    run = store.create_run("test", {}, {})
    return Context(sup=sup, store=store, run_id=run, experiment="test", **kw)


def test_a_level_ramping_up_is_the_steady_windows_rate(tmp_path):
    # 10, 20, 50, 100, 100, 100 images a window from the phase's start: the steady rate is
    # 100 a window, the mean from the start 63.3 (what was reported before)
    ramp = [10, 20, 50]
    ten = FakeTenant(1, lambda k: ramp[k] if k < len(ramp) else 100)
    sup = FakeSupervisor([ten], window_s=W)
    ctx = ctx_for(sup, tmp_path, duration=None, max_s=30.0, min_batches=30)
    r = asyncio.run(measure_level(ctx, [ten]))
    assert r["throughput"] == pytest.approx(100 / W)
    assert r["ok"] and r["steady"]
    assert r["measured_s"] == pytest.approx(3 * W)  # the 3 steady windows
    assert r["images"] == 300
    ramp_r = r["trials"][0]["ramp"]
    assert ramp_r is not None and ramp_r["throughput"] < 100 / W  # the ramp is kept, apart
    assert r["ramp_throughput"] == ramp_r["throughput"]


def test_a_fixed_duration_is_whole_windows_and_one_span_for_every_figure():
    # --duration 2.5 windows: the span is 3 whole windows, images and seconds of the same span
    ten = FakeTenant(1, [7])
    sup = FakeSupervisor([ten], window_s=W)
    m = asyncio.run(measure(sup, duration=2.5 * W))
    assert m.until - m.since == pytest.approx(3 * W)
    ten.windows.extend(Window(m.until + i * W, m.until + (i + 1) * W, 1000, 1000, {}) for i in range(3))
    s = tenant_summary(ten, m.since, m.until)  # windows after the span are not counted
    assert s["images"] == 21 and s["throughput"] == pytest.approx(21 / (3 * W))


def test_a_level_where_no_batch_completed_is_not_runnable(tmp_path):
    ten = FakeTenant(1, [0], batches=0)
    sup = FakeSupervisor([ten], window_s=W)
    ctx = ctx_for(sup, tmp_path, duration=3 * W)
    r = asyncio.run(measure_level(ctx, [ten]))
    assert r["ok"] is False and "no batch completed" in r["reason"] and r["failed_tenants"] == [1]


def test_one_tenant_without_a_batch_makes_the_level_not_runnable(tmp_path):
    a, b = FakeTenant(1, [50]), FakeTenant(2, [0], batches=0)
    sup = FakeSupervisor([a, b], window_s=W)
    r = asyncio.run(measure_level(ctx_for(sup, tmp_path, duration=3 * W), [a, b]))
    assert r["ok"] is False and r["failed_tenants"] == [2]


def test_resources_are_the_intervals_the_samples_describe(tmp_path):
    # a sample stamped t describes (previous t, t]: the one at 1.0 is the second before 1.0
    store = Store(tmp_path / "s.db")
    run = store.create_run("test", {}, {})
    for t, cpu in ((0.0, 50.0), (1.0, 100.0), (1.5, 10.0), (2.0, 30.0), (3.0, 90.0)):
        store.add_sample(run, t, {"cpu_percent": cpu, "x_throttled": 1.0 if t == 3.0 else 0.0})
    store.flush()
    r = resource_means(store, run, 1.0, 2.0)
    assert r["means"]["cpu_percent"] == pytest.approx(20.0) and r["samples"] == 2
    assert r["throttled"] is False
    r = resource_means(store, run, 1.25, 2.5)  # parts of intervals weigh by their overlap
    assert r["means"]["cpu_percent"] == pytest.approx((0.25 * 10 + 0.5 * 30 + 0.5 * 90) / 1.25)
    assert r["throttled"] is True


def test_steady_span_is_the_last_consecutive_slots():
    def grid(n, imgs):
        return [Window(i, i + 1.0, imgs[i], 1) for i in range(n)]

    assert aggregate.steady_span({"a": grid(5, [1, 2, 3, 4, 5])}) == (2.0, 5.0)
    assert aggregate.steady_span({"a": grid(2, [1, 2])}) is None
    gap = grid(5, [1] * 5)
    del gap[3]
    assert aggregate.steady_span({"a": gap}) is None
    assert aggregate.end_on_grid(1.0, 2.5, 1.0) == 4.0 and aggregate.end_on_grid(1.0, 2.0, 1.0) == 3.0
