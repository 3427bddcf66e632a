"""Search strategies and the tuner on recorded and synthetic grids: deterministic, no tenants."""
import glob
import json
import math
from pathlib import Path

import pytest

from runners.experiments import search

GRIDS = Path(__file__).resolve().parent.parent / "data" / "grids"


def threshold(m):
    return lambda level: {"ok": level <= m, "throughput": float(min(level, m))}


@pytest.mark.parametrize("max_level", [1, 2, 3, 7, 8, 16, 64, 100, 1100])
def test_search_finds_linear_max_within_budget(max_level):
    budget = int(math.ceil(math.log2(max_level))) + 3 if max_level > 1 else 1
    for m in range(0, max_level + 1):
        lin = search.drive(search.linear(max_level), threshold(m))
        srch = search.drive(search.search(max_level), threshold(m))
        assert lin["max_level"] == srch["max_level"] == m
        assert srch["levels_measured"] <= budget
        assert srch["order"][0] == 1  # single tenancy first: the baseline of the gain


def test_linear_stops_at_first_failure_and_doubling_is_a_lower_bound():
    lin = search.drive(search.linear(10), threshold(5))
    assert lin["order"] == [1, 2, 3, 4, 5, 6] and lin["first_failed_level"] == 6
    dbl = search.drive(search.doubling(10), threshold(5))
    assert dbl["order"] == [1, 2, 4, 8] and dbl["max_level"] == 4 and dbl["first_failed_level"] == 8
    assert search.drive(search.doubling(10), threshold(10))["order"] == [1, 2, 4, 8, 10]


def test_best_level_is_the_highest_throughput_measured():
    tp = {1: 10.0, 2: 18.0, 3: 25.0, 4: 24.0, 5: 20.0}
    r = search.drive(search.linear(5), lambda lv: {"ok": True, "throughput": tp[lv]})
    assert r["best_level"] == 3 and r["best_throughput"] == 25.0 and r["max_level"] == 5


def _grid(path):
    g = json.loads(Path(path).read_text())
    pts = {(p["concurrency"], p["batch"], p["isolation"]): p for p in g["points"]}
    return g, pts, (lambda c: pts[(c["concurrency"], c["batch"], c["isolation"])])


@pytest.mark.parametrize("path", sorted(glob.glob(str(GRIDS / "h200_notes_*.json"))))
def test_tuner_finds_the_corner_best_of_the_h200_grids(path):
    """The best point (concurrency 1, batch 32) sits on an edge (a corner) of these grids."""
    g, pts, measure = _grid(path)
    r = search.drive(search.tune(g["axes"]), measure)
    best = max(pts.values(), key=lambda p: p["throughput"])
    assert (best["concurrency"], best["batch"]) == (1, 32)
    assert r["best"] == {"concurrency": 1, "batch": 32, "isolation": "process"}
    assert r["measured"] <= 0.25 * len(pts) and r["grid_size"] == len(pts)


@pytest.mark.parametrize("path", sorted(glob.glob(str(GRIDS / "cpu_*.json"))))
def test_tuner_on_recorded_cpu_grids_is_deterministic_and_within_budget(path):
    g, pts, measure = _grid(path)
    a = search.drive(search.tune(g["axes"]), measure)
    b = search.drive(search.tune(g["axes"]), measure)
    assert a == b
    assert a["measured"] <= search.default_budget(len(pts))
    full = search.drive(search.exhaustive(g["axes"]), measure)
    assert full["measured"] == len(pts)
    assert a["best_score"] <= full["best_score"]
    # the target: within 5% of the grid's best, measuring at most 25% of it
    assert a["best_score"] >= 0.95 * full["best_score"] and a["measured"] <= 0.25 * len(pts)
    assert "edgemt tune --full-grid" in g["edgemt_command"]


def test_tuner_respects_failures_and_the_p99_limit():
    axes = {"concurrency": [1, 2, 3, 4, 5, 6, 7, 8], "batch": [1, 2, 4, 8, 16, 32], "isolation": ["process", "thread"]}

    def measure(c):  # throughput rises with both; batch 32 runs out of memory; latency grows with the load
        if c["batch"] == 32:
            return {"ok": False, "reason": "out of memory"}
        tp = c["concurrency"] * c["batch"] * (1.2 if c["isolation"] == "thread" else 1.0)
        return {"ok": True, "throughput": tp, "p99_ms": 10.0 * c["concurrency"] * c["batch"]}

    r = search.drive(search.tune(axes), measure)
    assert r["best"] == {"concurrency": 8, "batch": 16, "isolation": "thread"}  # another edge
    assert r["measured"] <= 24
    lim = search.drive(search.tune(axes, p99_ms=40.0), measure)
    assert lim["best_result"]["p99_ms"] <= 40.0
    assert lim["best"]["concurrency"] * lim["best"]["batch"] == 4


def test_throughput_per_watt_objective():
    axes = {"concurrency": [1, 2, 3, 4], "batch": [1, 2], "isolation": ["process"]}

    def measure(c):
        return {"ok": True, "throughput": 10.0 * c["concurrency"], "power_w": 5.0 + c["concurrency"] ** 2}

    r = search.drive(search.tune(axes, objective="throughput-per-watt", budget=8), measure)
    assert r["best"]["concurrency"] == 2  # 20/9 beats 10/6, 30/14, 40/21
    no_power = search.drive(search.tune(axes, objective="throughput-per-watt"), lambda c: {"ok": True, "throughput": 1})
    assert no_power["best"] is None
