"""Oracle: ``edgemt capacity`` finds the known limit of a tenant whose batches take a known
time. A query takes 0.2 s, so one tenant serves at most 5 queries a second: below that
every query is served on time (latency ~0.2 s), above it the queue grows and the latency
with it. With a 400 ms p99 SLO the largest rate that meets it is 5/s, found within one
step of the rate grid by doubling then bisection. The SLO leaves 200 ms for a loaded
machine's late wake-ups below the limit, and 5.5/s (10 % over) adds 0.1 s of queueing a
second, so it misses within the measured 3 s: counts and bounds, no tight timing."""
import json

import pytest

from edgemt_testlib import run_edgemt


@pytest.mark.slow  # about 7 levels of 3 s
def test_capacity_finds_the_known_rate_limit_within_one_step(oracle_home):
    oracle_home.model("*", batch_s=0.2, from_start=True)
    r = run_edgemt("capacity", "--tenant", "mobilenet_v2", "--slo", "400", "--rate-max", "8", "--step", "0.5",
                   "--duration", "3", "--window", "0.5", "--json", check=0)
    out = json.loads(r.stdout)
    s = out["summary"]
    assert out["experiment"] == "capacity" and out["status"] == "done"
    assert s["mode"] == "rate" and s["step"] == 0.5 and s["slo"] == {"ms": 400.0, "percentile": 99.0}
    assert abs(s["max_rate"] - 5.0) <= 0.5, s
    assert s["first_failed_rate"] is not None and s["first_failed_rate"] > s["max_rate"]
    assert s["first_failed_rate"] - s["max_rate"] <= 1.0  # bisected down to neighbours on the grid (or one apart)
    levels = {float(v["rate"]): v for v in s["levels"].values()}
    # doubling from the lowest rate while the budget allows, then bisection
    assert {0.5, 1.0, 2.0} <= set(levels)
    assert s["levels_measured"] <= 7  # the search's budget for 16 levels
    missed = levels[s["first_failed_rate"]]
    assert missed["ok"] is False and "SLO missed" in missed["reason"]
    met = levels[s["max_rate"]]
    assert met["ok"] is True and met["attainment"] >= 0.99
    assert levels[0.5]["attainment"] == 1.0 and levels[0.5]["dropped"] == 0
    # every level is a results row, and the answer's goodput is the rate it served
    rows = oracle_home.rows("SELECT COUNT(*) FROM results WHERE experiment = 'capacity'")
    assert rows == [(s["levels_measured"] + 1,)]


def test_capacity_of_streams_prints_its_levels_and_answer(oracle_home):
    # streams of 2 queries a second, 0.2 s a query: every tenant keeps up, so the answer is --max
    oracle_home.model("*", batch_s=0.2, from_start=True)
    r = run_edgemt("capacity", "--tenant", "mobilenet_v2,isolation=thread", "--slo", "p90:600", "--fps", "2",
                   "--max", "2", "--duration", "2", "--window", "0.5", check=0)
    text = " ".join(r.stdout.split())
    assert "capacity mobilenet_v2 torch@cpu batch 1 (constant arrivals), SLO p90 <= 600 ms: most streams at 2/s: 2;" \
           in text, r.stdout
    assert "ended by: reached --max" in text
    assert oracle_home.rows("SELECT COUNT(*) FROM tenants") == [(3,)]  # 1 stream, then 2 fresh ones


def test_capacity_keeps_the_specs_own_arrival_seed_queue_and_rt(oracle_home):
    # the search sets rate= and slo=; the SPEC's other open-loop keys are the tenant's own
    # (was: "arrival=poisson needs rate=", although capacity asks for them without one)
    oracle_home.model("*", batch_s=0.05, from_start=True)
    r = run_edgemt("capacity", "--tenant", "mobilenet_v2,isolation=thread,arrival=poisson,seed=3,queue=4,rt=on",
                   "--slo", "600", "--fps", "2", "--max", "1", "--duration", "1", "--window", "0.5", check=0)
    assert "(poisson arrivals)" in " ".join(r.stdout.split()), r.stdout
    (spec,) = oracle_home.rows("SELECT spec FROM tenants")
    spec = json.loads(spec[0])
    assert (spec["rate"], spec["arrival"], spec["seed"], spec["queue"], spec["rt"]) == (2.0, "poisson", 3, 4, True)
