"""edgemt's MLPerf statistics (runners/mlperf.py) agree with the official LoadGen's on the same run.

Each test has LoadGen (``mlcommons-loadgen``) drive a system under test whose latencies
the test sets (tests/mlperf/loadgen_harness.py), with the rules' minimums scaled down so
a run takes a second or two. edgemt then evaluates the latencies LoadGen measured (its
trace's ``complete_ns`` per sample) and must report what LoadGen's detail log reports:
the early-stopping estimates, the percentile, the query counts and overlatency count
exactly, each rule's verdict and the result's validity the same. Evaluated from the
latency histogram edgemt's windows carry instead (``evaluate_binned``), the counts and
verdicts are the same and the estimates LoadGen's to the bucket.

A loaded machine changes the latencies, never the comparison: both sides judge the same
numbers. The settings leave the expected verdict far from its edge (a 1 s bound on 1 ms
queries, durations several times the minimum), so it holds on a busy 2-core machine too.
Only the SingleStream durations are the SUT's own clock (LoadGen logs no issue times);
they are a long way from the minimum either way.
"""
import math
import re

import pytest

from mlperf.loadgen_harness import run_loadgen
from runners import mlperf
from runners.child import latency

pytestmark = pytest.mark.slow


def _discarded(early_stopping_result):
    return int(re.search(r"Would discard (\d+) highest", early_stopping_result).group(1))


def _hist(latencies_ns):
    """The latencies as edgemt's windows carry them (runners/child/latency.py's buckets)."""
    hist = {}
    for value in latencies_ns:
        key = str(latency.bucket_of(value / 1e9))
        hist[key] = hist.get(key, 0) + 1
    return hist


def _bucket_edge_ns(value_ns):
    return math.ceil(latency.upper_edge(latency.bucket_of(value_ns / 1e9)) * 1e9)


def _single_stream(run, min_duration_s, min_queries, binned=False):
    rules = mlperf.Rules(mlperf.SINGLE_STREAM, min_duration_s, min_queries, percentile=0.9, comparable=False)
    duration_s = run.issued_at[-1] - run.issued_at[0]
    if binned:
        return mlperf.evaluate_binned(rules, _hist(run.sample_latencies_ns), len(run.samples), duration_s)
    return mlperf.evaluate(rules, mlperf.Measured(run.sample_latencies_ns, len(run.samples), duration_s))


def test_single_stream_valid_estimates_agree(tmp_path):
    # 1 ms queries, every tenth 6 ms: the 90th percentile sits on the edge of the slow tenth,
    # where early stopping's estimate differs from the plain percentile.
    run = run_loadgen(tmp_path, "single-stream", lambda k: 0.006 if k % 10 == 9 else 0.001,
                      min_duration_ms=300, min_query_count=700, single_stream_expected_latency_ns=1500000)
    detail = run.detail
    result = _single_stream(run, 0.3, 700)

    assert detail["result_validity"] == "VALID" and result.valid, result.reasons
    assert detail["result_query_count"] == result.query_count == len(run.issued_at) >= 700
    assert detail["result_90.00_percentile_latency_ns"] == result.percentile_latency_ns
    assert detail["early_stopping_latency_ss"] == result.early_stopping.estimate_ns
    assert _discarded(detail["early_stopping_result"]) == result.early_stopping.discarded > 0
    assert "Processed at least %d queries" % result.early_stopping.min_queries in detail["early_stopping_result"]
    # 700 queries are enough for the 99th percentile's estimate too (MultiStream inferred).
    assert detail["early_stopping_latency_ms"] == result.early_stopping_99.estimate_ns
    assert detail["result_min_duration_met"] is result.min_duration_met is True
    assert detail["result_min_queries_met"] is result.min_queries_met is True
    assert detail["early_stopping_met"] is result.early_stopping_met is True
    # From the histogram edgemt's windows carry: the same verdict, the estimates to the bucket.
    binned = _single_stream(run, 0.3, 700, binned=True)
    assert binned.valid and binned.early_stopping.discarded == result.early_stopping.discarded
    assert binned.early_stopping.estimate_ns == _bucket_edge_ns(detail["early_stopping_latency_ss"])
    assert binned.early_stopping_99.estimate_ns == _bucket_edge_ns(detail["early_stopping_latency_ms"])


@pytest.mark.parametrize("limits, broken", [
    # Stopped at 40 queries: under the minimum count, under the 64 early stopping needs
    # for a 90th percentile, and far under the minimum duration.
    ({"min_query_count": 500, "max_query_count": 40, "min_duration_ms": 60000},
     {"result_min_duration_met", "result_min_queries_met", "early_stopping_met"}),
    # Stopped after 1.5 s of a 60 s minimum, with queries to spare (1 ms queries; it would
    # take 23 ms each to fall under the 64 early stopping needs): the duration alone.
    ({"min_query_count": 50, "max_duration_ms": 1500, "min_duration_ms": 60000},
     {"result_min_duration_met"}),
])
def test_single_stream_invalid_reasons_agree(tmp_path, limits, broken):
    run = run_loadgen(tmp_path, "single-stream", lambda k: 0.001,
                      single_stream_expected_latency_ns=1000000, **limits)
    detail = run.detail
    result = _single_stream(run, limits["min_duration_ms"] / 1000, limits["min_query_count"])

    assert detail["result_validity"] == "INVALID" and not result.valid
    flags = {"result_min_duration_met": result.min_duration_met,
             "result_min_queries_met": result.min_queries_met,
             "early_stopping_met": result.early_stopping_met}
    assert {key for key in flags if detail[key] is False} == broken
    assert {key for key, met in flags.items() if not met} == broken
    assert len(result.reasons) == len(broken)
    assert _single_stream(run, limits["min_duration_ms"] / 1000, limits["min_query_count"], binned=True).reasons == result.reasons
    assert detail["result_query_count"] == result.query_count
    if "early_stopping_met" in broken:
        assert "Need to process at least %d queries" % result.early_stopping.min_queries in detail["early_stopping_result"]
        assert result.early_stopping.estimate_ns is None
    else:
        assert detail["early_stopping_latency_ss"] == result.early_stopping.estimate_ns


def _server(tmp_path, qps, bound_ms, latency_s, min_duration_ms, min_queries, seed):
    run = run_loadgen(tmp_path, "server", latency_s, server_target_qps=qps,
                      server_target_latency_ns=int(bound_ms * 1e6), min_duration_ms=min_duration_ms,
                      min_query_count=min_queries, schedule_rng_seed=seed)
    # edgemt's own schedule for LoadGen's settings: LoadGen's, to the nanosecond.
    schedule, end_ns = mlperf.poisson_schedule_ns(qps, min_duration_ms / 1000, min_queries, seed=seed)
    assert run.detail["generated_query_count"] == len(schedule)
    assert run.detail["generated_query_duration"] == end_ns
    assert run.scheduled_offsets_ns() == schedule

    rules = mlperf.Rules(mlperf.SERVER, min_duration_ms / 1000, min_queries, percentile=0.99,
                         latency_bound_ns=int(bound_ms * 1e6), comparable=False)
    measured = mlperf.Measured(run.sample_latencies_ns, queries_issued=len(schedule),
                               duration_s=schedule[-1] / 1e9)
    result = mlperf.evaluate(rules, measured)
    # From the histogram and the count within the bound, as edgemt's windows carry them:
    # every count and verdict the same.
    within = sum(1 for value in run.sample_latencies_ns if value <= rules.latency_bound_ns)
    binned = mlperf.evaluate_binned(rules, _hist(run.sample_latencies_ns), len(schedule), schedule[-1] / 1e9,
                                    within=within)
    assert (binned.valid, binned.server) == (result.valid, result.server)
    # The reasons too, but for the percentile they quote (exact to the bucket).
    assert [r.split(":")[0] for r in binned.reasons] == [r.split(":")[0] for r in result.reasons]
    assert binned.percentile_latency_ns == _bucket_edge_ns(run.detail["result_99.00_percentile_latency_ns"])
    return run, result


def test_server_valid_schedule_and_verdict_agree(tmp_path):
    run, result = _server(tmp_path, qps=500, bound_ms=1000, latency_s=lambda k: 0.001,
                          min_duration_ms=500, min_queries=1200, seed=20261202)
    detail = run.detail

    assert detail["result_validity"] == "VALID" and result.valid, result.reasons
    assert detail["result_query_count"] == result.query_count >= 1200
    assert detail["result_overlatency_query_count"] == result.server.overlatency
    assert detail["result_99.00_percentile_latency_ns"] == result.percentile_latency_ns
    assert detail["result_perf_constraints_met"] is result.latency_bound_met is True
    assert detail["early_stopping_met"] is result.early_stopping_met is True
    assert detail["result_scheduled_samples_per_sec"] == pytest.approx(result.scheduled_qps, rel=1e-5)


def test_server_over_the_bound_is_invalid_for_the_same_reasons(tmp_path):
    # One query in ten takes 60 ms against a 20 ms bound: the 99th percentile is over it,
    # and early stopping would need far more queries than the run has.
    run, result = _server(tmp_path, qps=500, bound_ms=20, latency_s=lambda k: 0.06 if k % 10 == 3 else 0.001,
                          min_duration_ms=300, min_queries=500, seed=7)
    detail = run.detail

    assert detail["result_validity"] == "INVALID" and not result.valid
    assert detail["result_query_count"] == result.query_count
    assert detail["result_overlatency_query_count"] == result.server.overlatency >= result.query_count // 10
    assert detail["result_99.00_percentile_latency_ns"] == result.percentile_latency_ns
    assert detail["result_perf_constraints_met"] is result.latency_bound_met is False
    assert detail["early_stopping_met"] is result.early_stopping_met is False
    more = int(re.search(r"at least (\d+) more queries", detail["early_stopping_result"]).group(1))
    assert more == result.server.more_needed > 0
    assert detail["result_min_duration_met"] is result.min_duration_met is True
    assert detail["result_min_queries_met"] is result.min_queries_met is True


@pytest.mark.parametrize("min_duration_ms, batch, batch_s, valid", [
    # 330 samples, ten every 20 ms: the last done after ~0.66 s of a 0.3 s minimum.
    (300, 10, 0.02, True),
    # 2,200 samples, a hundred every 5 ms: all done after ~0.11 s of a 2 s minimum.
    (2000, 100, 0.005, False),
])
def test_offline_throughput_and_verdict_agree(tmp_path, min_duration_ms, batch, batch_s, valid):
    expected_qps = 1000.0
    run = run_loadgen(tmp_path, "offline", lambda k: (k // batch + 1) * batch_s,
                      offline_expected_qps=expected_qps, min_duration_ms=min_duration_ms, min_query_count=100)
    detail = run.detail
    query_size = mlperf.offline_query_size(100, min_duration_ms / 1000, expected_qps)
    assert detail["generated_samples_per_query"] == query_size == len(run.samples)
    rules = mlperf.Rules(mlperf.OFFLINE, min_duration_ms / 1000, 1, samples_per_query=query_size, comparable=False)
    result = mlperf.evaluate(rules, mlperf.Measured(run.sample_latencies_ns, queries_issued=1))

    assert (detail["result_validity"] == "VALID") is result.valid is valid
    assert detail["result_min_duration_met"] is result.min_duration_met is valid
    assert detail["result_min_queries_met"] is result.min_queries_met is True
    assert detail["result_samples_per_second"] == pytest.approx(result.throughput, rel=1e-5)
    assert detail["result_query_count"] == result.query_count == 1


def test_multi_stream_per_query_estimate_agrees(tmp_path):
    # Eight samples a query; one query in thirteen takes 4 ms, the others 1 ms.
    run = run_loadgen(tmp_path, "multi-stream", lambda k: 0.004 if (k // 8) % 13 == 0 else 0.001,
                      min_duration_ms=300, min_query_count=662, multi_stream_expected_latency_ns=1500000,
                      sample_count=64)
    detail = run.detail
    per_query = run.query_latencies_ns()
    rules = mlperf.Rules(mlperf.MULTI_STREAM, 0.3, 662, samples_per_query=8, percentile=0.99, comparable=False)
    measured = mlperf.Measured(run.sample_latencies_ns, queries_issued=len(per_query),
                               duration_s=run.issued_at[-1] - run.issued_at[0], query_latencies_ns=per_query)
    result = mlperf.evaluate(rules, measured)

    assert detail["result_validity"] == "VALID" and result.valid, result.reasons
    assert detail["result_query_count"] == result.query_count == len(run.issued_at)
    assert result.sample_count == 8 * result.query_count
    assert detail["early_stopping_latency_ms"] == result.early_stopping.estimate_ns
    assert _discarded(detail["early_stopping_result"]) == result.early_stopping.discarded
    assert detail["result_99.00_percentile_per_query_latency_ns"] == result.percentile_latency_ns
    assert detail["early_stopping_met"] is result.early_stopping_met is True
