"""Oracle: an MLPerf scenario run on a tenant of known batch time (runners/experiments/mlperf_scenario.py).

The oracle child's batches take a known time (in the middle of a latency bucket), or
longer on a loaded machine: the percentile and the early-stopping estimate are at least
that bucket's upper edge, the query count at most the performance phase over the batch
time, and the verdict follows from the (scaled-down) rules with a wide margin. See tests/oracle/oracle_env.py for the oracle.
"""
import json
import sqlite3

import pytest

from runners import config, mlperf
from runners.child import latency
from runners.experiments import mlperf_scenario
from runners.experiments.common import Context
from runners.spec import parse_spec
from tui.session import Session

BATCH_S = 0.02113  # in the middle of a latency bucket (log scale): 19.95..22.39 ms
EDGE_MS = round(latency.upper_edge(latency.bucket_of(BATCH_S)) * 1000, 3)


async def _run(home, scenario, rules, batch=None, power_w=None):
    session = Session(home.db, "mlperf", {}, config.load(), window_s=0.5, collectors=[])
    if power_w is not None:  # a board drawing power_w throughout, sampled every 0.5 s
        for k in range(200):
            session.store.add_sample(session.run_id, k * 0.5, {"power_w": power_w})
    try:
        ctx = Context(session.supervisor, session.store, session.run_id, mlperf_scenario.EXPERIMENT)
        spec = parse_spec("mobilenet_v2" + (f",batch={batch}" if batch else ""))
        out = await mlperf_scenario.run(ctx, spec, scenario, rules=rules)
    finally:
        await session.close()
    return out


@pytest.mark.slow
async def test_single_stream_on_a_known_batch_time(oracle_home):
    oracle_home.model("*", batch_s=BATCH_S)
    rules = mlperf.Rules(mlperf.SINGLE_STREAM, 2.0, 60, percentile=0.9, comparable=False)
    out = await _run(oracle_home, mlperf.SINGLE_STREAM, rules, power_w=4.0)

    assert out["valid"] is True and out["reasons"] == [] and out["comparable"] is False, json.dumps(out)
    assert out["batch"] == 1 and out["samples"] == out["queries"]
    # 2.5 s (the minimum and a window) at 21 ms a query at best
    assert out["measured_s"] >= 2.5 and 60 <= out["queries"] <= out["measured_s"] / BATCH_S + 1
    # A query takes the batch time or longer (a loaded machine): its bucket's edge at least.
    assert EDGE_MS <= out["percentile_ms"] <= out["early_stopping_ms"]
    # power over exactly the performance phase, and what it is not
    assert out["power_w"] == 4.0 and out["energy_j"] == pytest.approx(4.0 * out["measured_s"])
    assert "not MLPerf's wall-power measurement" in out["power_note"]
    # the row in the DB is the result
    row = sqlite3.connect(oracle_home.db).execute(
        "SELECT experiment, key, value FROM results").fetchone()  # the one row: the summary
    assert row[0] == "mlperf" and json.loads(row[1])["scenario"] == "single-stream"
    assert json.loads(row[2])["early_stopping_ms"] == out["early_stopping_ms"]


@pytest.mark.slow
async def test_multi_stream_too_short_for_early_stopping_is_invalid(oracle_home):
    # 1.5 s of 21 ms queries: the 50-query minimum is met, the 662 queries early stopping
    # needs for a 99th percentile are not.
    oracle_home.model("*", batch_s=BATCH_S)
    rules = mlperf.Rules(mlperf.MULTI_STREAM, 1.0, 50, samples_per_query=8, percentile=0.99, comparable=False)
    out = await _run(oracle_home, mlperf.MULTI_STREAM, rules)

    assert out["valid"] is False and out["batch"] == 8 and out["samples"] == 8 * out["queries"] >= 8 * 50
    assert out["reasons"] == ["early stopping not met: %d queries, at least 662 needed for a p99 estimate"
                              % out["queries"]]
    assert out["early_stopping_ms"] is None and out["min_queries_met"] is True


@pytest.mark.slow
async def test_a_slow_model_runs_on_to_the_minimum_queries(oracle_home):
    # 0.25 s a query: 1.5 s holds 6; LoadGen-like, the phase goes on to the 20-query minimum.
    oracle_home.model("*", batch_s=0.25)
    rules = mlperf.Rules(mlperf.SINGLE_STREAM, 1.0, 20, percentile=0.9, comparable=False)
    out = await _run(oracle_home, mlperf.SINGLE_STREAM, rules)

    assert out["queries"] >= 20 and out["measured_s"] >= 20 * 0.25 - 0.5
    assert out["min_queries_met"] is True and out["min_duration_met"] is True
    assert out["reasons"] == ["early stopping not met: %d queries, at least 64 needed for a p90 estimate"
                              % out["queries"]]


@pytest.mark.slow
async def test_offline_throughput(oracle_home):
    oracle_home.model("*", batch_s=BATCH_S)
    rules = mlperf.Rules(mlperf.OFFLINE, 2.0, 1, samples_per_query=100, comparable=False)
    out = await _run(oracle_home, mlperf.OFFLINE, rules, batch=4)

    assert out["valid"] is True and out["batch"] == 4 and out["queries"] * 4 == out["samples"] >= 100
    assert out["samples_per_s"] == pytest.approx(4 / BATCH_S, rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("bound_ms, valid, rt", [(1000, True, ",rt=on"), (5, False, "")])
async def test_server_on_loadgens_schedule(oracle_home, bound_ms, valid, rt):
    # 10 ms queries at 50/s: the tenant keeps up, a query waits at most a little for the one
    # before it (a 1 s bound is far off, even on a loaded machine); every query takes 10 ms or more (5 ms: all over).
    oracle_home.model("*", batch_s=0.01, from_start=True)
    rules = mlperf.Rules(mlperf.SERVER, 10.0, 500, percentile=0.99, latency_bound_ns=bound_ms * 1000000,
                         comparable=False)
    session = Session(oracle_home.db, "mlperf", {}, config.load(), window_s=0.5, collectors=[])
    try:
        ctx = Context(session.supervisor, session.store, session.run_id, mlperf_scenario.EXPERIMENT)
        spec = parse_spec("mobilenet_v2" + rt, rate_set_later=True)  # as edgemt mlperf parses it
        out = await mlperf_scenario.run(ctx, spec, mlperf.SERVER, target_qps=50.0, seed=3, rules=rules)
    finally:
        await session.close()
    # rt=on (waiting for LoadGen's arrivals at real-time priority) is the tenant's
    (stored,) = oracle_home.rows("SELECT spec FROM tenants")
    assert json.loads(stored[0])["rt"] is (True if rt else None)
    schedule, _ = mlperf.poisson_schedule_ns(50.0, 10.0, 500, seed=3)
    # every query of LoadGen's schedule, counted once: none before the first window
    assert out["queries"] == out["completed"] == len(schedule) and out["dropped"] == 0, json.dumps(out)
    assert out["valid"] is valid, json.dumps(out)
    if valid:
        assert out["overlatency"] == 0 and out["latency_bound_met"] and out["early_stopping_met"]
    else:
        # every query takes 10 ms, over a 5 ms bound
        assert out["overlatency"] == len(schedule) and out["within"] == 0
        assert [r.split(":")[0] for r in out["reasons"]] == ["latency bound not met", "early stopping not met"]


@pytest.mark.slow
def test_the_command_end_to_end(oracle_home):
    # edgemt mlperf through the CLI: the Supervisor, the oracle child, the DB and --json.
    from edgemt_testlib import run_edgemt

    oracle_home.model("*", batch_s=BATCH_S, from_start=True)
    proc = run_edgemt("mlperf", "--scenario", "single-stream", "--tenant", "mobilenet_v2", "--quick",
                      "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    summary = out["summary"]
    assert out["experiment"] == "mlperf" and out["status"] == "done"
    assert summary["valid"] is True and summary["comparable"] is False
    assert summary["rules"]["min_duration_s"] == mlperf.QUICK_MIN_DURATION_S
    assert summary["measured_s"] >= mlperf.QUICK_MIN_DURATION_S and summary["queries"] >= 100
    assert EDGE_MS <= summary["percentile_ms"] <= summary["early_stopping_ms"]
    # the printed result says the same
    text = run_edgemt("report", str(out["run_id"]), check=0).stdout
    assert "MLPerf single-stream: mobilenet_v2 on torch@cpu, batch 1: result is VALID (--quick" in text
