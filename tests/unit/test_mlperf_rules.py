"""runners/mlperf.py on known numbers: the rules per scenario, early stopping, the verdict's reasons.

The agreement with the official LoadGen on real runs is tests/mlperf/test_loadgen_agreement.py.
"""
import math
import random
import statistics

import pytest

from runners import mlperf
from runners.child import latency


def test_the_rules_per_scenario():
    single = mlperf.rules_for(mlperf.SINGLE_STREAM)
    assert (single.min_duration_s, single.min_query_count, single.percentile) == (600.0, 100, 0.90)
    multi = mlperf.rules_for(mlperf.MULTI_STREAM)
    assert (multi.min_query_count, multi.samples_per_query, multi.min_sample_count, multi.percentile) == (662, 8, 5296, 0.99)
    server = mlperf.rules_for(mlperf.SERVER, latency_bound_ms=15)
    assert (server.percentile, server.latency_bound_ns, server.comparable) == (0.99, 15000000, True)
    offline = mlperf.rules_for(mlperf.OFFLINE, offline_expected_qps=100)
    # One query: 1.1 x 600 s x 100/s = 66,000 samples (above the 24,576 floor).
    assert (offline.min_query_count, offline.samples_per_query, offline.percentile) == (1, 66000, None)
    assert mlperf.rules_for(mlperf.OFFLINE).samples_per_query == 24576
    quick = mlperf.rules_for(mlperf.SINGLE_STREAM, quick=True)
    assert quick.min_duration_s < 600 and not quick.comparable


@pytest.mark.parametrize("call, message", [
    (lambda: mlperf.rules_for("singlestream"), "expected one of single-stream, multi-stream, server, offline"),
    (lambda: mlperf.rules_for(mlperf.SERVER), "a latency bound in ms (> 0) is required"),
    (lambda: mlperf.rules_for(mlperf.SERVER, latency_bound_ms=0), "a latency bound in ms (> 0) is required"),
    (lambda: mlperf.poisson_schedule_ns(0, 1, 1), "expected a rate > 0"),
])
def test_bad_rules_are_refused_with_what_would_do(call, message):
    with pytest.raises(ValueError, match=".*" + message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_early_stopping_minimum_queries_are_loadgens():
    # LoadGen: "Need to process at least 64 queries" (90th) and "at least 662" (99th),
    # with one query over; with none over, (0.99)^h < 0.01 from h = 459.
    assert mlperf.min_passing_queries(1, 0.90) + 1 == 64
    assert mlperf.min_passing_queries(1, 0.99) + 1 == 662
    assert mlperf.min_passing_queries(0, 0.99) == 459 == math.ceil(math.log(0.01) / math.log(0.99))


class LoadGenBracketedSearch:
    """A model of how LoadGen 6.0 searches h(t) (loadgen/early_stopping.cc): t after t, each
    bisection bracketed by an extrapolation from the two nearest smaller t computed, its
    upper edge the answer when nothing in the bracket passes. edgemt searches without the
    bracket; the two must agree wherever the bracket holds the least h."""

    def __init__(self, p, c=0.99):
        self.p, self.c = p, c
        self.answers = {}

    def __call__(self, t):
        p, c = self.p, self.c
        smaller = sorted(k for k in self.answers if k < t)[-2:]
        x0, y0 = -1, 0
        x1, y1 = 0, math.ceil(math.log(1 - c) / math.log(p))
        if smaller:
            x1, y1 = smaller[-1], self.answers[smaller[-1]]
        if len(smaller) == 2:
            x0, y0 = smaller[0], self.answers[smaller[0]]
        low = int((t - x1) * (p / (1 - p)) + y1)
        high = int((t - x1) * float((y1 - y0) * (x1 - x0)) + y1 + 1)
        count = high - low
        while count > 0:
            step = count // 2
            if mlperf._tail_probability(low + step, t, p, 0.0) < 1 - c:
                count = step
            else:
                low, count = low + step + 1, count - step - 1
        self.answers[t] = low
        return low


@pytest.mark.parametrize("p, t_max", [(0.90, 500), (0.99, 150)])
def test_least_passing_count_is_what_loadgens_bracketed_search_finds(p, t_max):
    loadgen = LoadGenBracketedSearch(p)
    for t in range(1, t_max + 1):
        h = mlperf.min_passing_queries(t, p)
        assert h == loadgen(t), t
        # The least: h passes, h - 1 does not.
        assert mlperf._tail_probability(h, t, p, 0.0) < 0.01 <= mlperf._tail_probability(h - 1, t, p, 0.0)


@pytest.mark.parametrize("p", [0.90, 0.99])
def test_least_passing_count_is_loadgens_for_server_too(p):
    # Server asks once, for its overlatency count, with nothing computed before: LoadGen's
    # bracket then comes from t = 0 alone.
    for over in (0, 1, 2, 5, 17, 100, 1000, 5000):
        assert mlperf.min_passing_queries(over, p) == LoadGenBracketedSearch(p)(over), over


@pytest.mark.parametrize("n", [64, 65, 100, 641, 700, 1000, 6000])
def test_early_stopping_estimate_is_loadgens_walk(n):
    # LoadGen walks t up from 2 and stops at the first t whose h(t) + t no longer fits in n.
    loadgen = LoadGenBracketedSearch(0.90)
    loadgen(1)
    t = 1
    for i in range(2, n + 1):
        if n < loadgen(i) + i:
            t = i - 1
            break
    latencies = [(k * 7919) % 100003 for k in range(n)]  # distinct, out of order
    estimate = mlperf.early_stopping_estimate(latencies, 0.90)
    assert (estimate.discarded, estimate.estimate_ns) == (t - 1, sorted(latencies)[n - t])


def test_early_stopping_estimate_on_known_latencies():
    latencies = list(range(1, 1001))  # 1..1000 ns: the plain 90th percentile is 901
    estimate = mlperf.early_stopping_estimate(latencies, 0.90)
    t = estimate.discarded + 1
    # The largest t whose h(t) + t fits in 1,000 queries; the estimate is the t-th highest.
    assert mlperf.min_passing_queries(t, 0.90) + t <= 1000 < mlperf.min_passing_queries(t + 1, 0.90) + t + 1
    assert estimate.estimate_ns == 1001 - t
    assert estimate.estimate_ns > mlperf.percentile_latency(latencies, 0.90) == 901
    too_few = mlperf.early_stopping_estimate(latencies[:63], 0.90)
    assert (too_few.met, too_few.min_queries) == (False, 64)


def test_server_counts_only_latencies_over_the_bound():
    rules = mlperf.Rules(mlperf.SERVER, 1.0, 100, percentile=0.99, latency_bound_ns=20)
    latencies = [10] * 600 + [20] * 3 + [21] * 2  # bound 20: the 20s are within it
    result = mlperf.evaluate(rules, mlperf.Measured(latencies, queries_issued=605, duration_s=2.0))
    assert result.server.overlatency == 2
    assert result.server.needed == mlperf.min_passing_queries(2, 0.99) + 2
    assert result.early_stopping_met is result.server.met is (605 >= result.server.needed)


def test_an_invalid_result_names_every_reason():
    rules = mlperf.Rules(mlperf.SERVER, 600.0, 100, percentile=0.99, latency_bound_ns=10000000)
    # 50 queries, 10 of them at 30 ms against a 10 ms bound, scheduled over 2 s.
    measured = mlperf.Measured([1000000] * 40 + [30000000] * 10, queries_issued=50, duration_s=2.0)
    result = mlperf.evaluate(rules, measured)
    assert not result.valid
    assert [reason.split(":")[0] for reason in result.reasons] == [
        "min duration not met", "min queries not met", "latency bound not met", "early stopping not met"]
    assert result.reasons[0] == "min duration not met: last query scheduled at 2.000 s < 600 s"
    assert result.reasons[2] == "latency bound not met: p99 30.000 ms > 10.000 ms"
    assert result.server.overlatency == 10


def test_offline_judges_its_duration_by_its_last_sample():
    rules = mlperf.Rules(mlperf.OFFLINE, 1.0, 1, samples_per_query=4)
    done = mlperf.evaluate(rules, mlperf.Measured([250000000, 500000000, 750000000, 1000000000], queries_issued=1))
    assert done.valid and done.throughput == 4.0
    short = mlperf.evaluate(rules, mlperf.Measured([100, 200, 300], queries_issued=1))
    assert short.reasons == ["min duration not met: last sample done at 0.000 s < 1 s",
                             "min samples not met: 3 < 4"]


def test_a_run_without_what_its_scenario_needs_is_refused():
    rules = mlperf.rules_for(mlperf.SINGLE_STREAM)
    with pytest.raises(ValueError, match="single-stream needs the run's duration"):
        mlperf.evaluate(rules, mlperf.Measured([1, 2, 3], queries_issued=3))
    with pytest.raises(ValueError, match="no latencies"):
        mlperf.evaluate(rules, mlperf.Measured([], queries_issued=0, duration_s=1.0))
    with pytest.raises(ValueError, match="multi-stream needs one latency per query"):
        mlperf.evaluate(mlperf.rules_for(mlperf.MULTI_STREAM), mlperf.Measured([1] * 16, queries_issued=2, duration_s=1.0))


def test_the_poisson_schedule():
    arrivals, end = mlperf.poisson_schedule_ns(200.0, 5.0, 10, seed=1)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # The last arrival is the first at or after the minimum duration; gaps average 1/rate.
    assert arrivals[-2] < 5e9 <= arrivals[-1] < end
    assert statistics.mean(gaps) == pytest.approx(5e6, rel=0.1)
    # Exponential: the standard deviation equals the mean.
    assert statistics.pstdev(gaps) == pytest.approx(statistics.mean(gaps), rel=0.1)
    # Seeded: the same seed, the same schedule; LoadGen keeps a seed's low 32 bits.
    assert mlperf.poisson_schedule_ns(200.0, 5.0, 10, seed=1) == (arrivals, end)
    assert mlperf.poisson_schedule_ns(200.0, 5.0, 10, seed=1 + 2 ** 32) == (arrivals, end)
    # The minimum count wins over the duration.
    assert len(mlperf.poisson_schedule_ns(200.0, 0.001, 50)[0]) == 50


def _hist(latencies_ns):
    hist = {}
    for value in latencies_ns:
        key = str(latency.bucket_of(value / 1e9))
        hist[key] = hist.get(key, 0) + 1
    return hist


def _bucket_edge_ns(value_ns):
    return math.ceil(latency.upper_edge(latency.bucket_of(value_ns / 1e9)) * 1e9)


@pytest.mark.parametrize("n", [50, 700, 5000])
def test_binned_single_stream_is_the_exact_result_to_the_bucket(n):
    rng = random.Random(n)
    latencies = [int(rng.lognormvariate(math.log(4e6), 0.4)) for _ in range(n)]
    rules = mlperf.Rules(mlperf.SINGLE_STREAM, 1.0, 100, percentile=0.9)
    exact = mlperf.evaluate(rules, mlperf.Measured(latencies, queries_issued=n, duration_s=3.0))
    binned = mlperf.evaluate_binned(rules, _hist(latencies), queries_issued=n, duration_s=3.0)
    assert (binned.valid, binned.reasons) == (exact.valid, exact.reasons)
    assert binned.early_stopping.discarded == exact.early_stopping.discarded
    assert binned.percentile_latency_ns == _bucket_edge_ns(exact.percentile_latency_ns)
    if exact.early_stopping.met:
        assert binned.early_stopping.estimate_ns == _bucket_edge_ns(exact.early_stopping.estimate_ns)
    else:
        assert binned.early_stopping.estimate_ns is None


@pytest.mark.parametrize("bound_ms, dropped", [(30, 0), (8, 0), (30, 3), (30, 40)])
def test_binned_server_verdict_is_exact(bound_ms, dropped):
    rng = random.Random(bound_ms + dropped)
    latencies = [int(rng.expovariate(1 / 4e6)) for _ in range(3000)]
    bound_ns = bound_ms * 1000000
    rules = mlperf.Rules(mlperf.SERVER, 1.0, 100, percentile=0.99, latency_bound_ns=bound_ns)
    # A dropped query never completes: exactly as a latency over any bound.
    exact = mlperf.evaluate(rules, mlperf.Measured(latencies + [10 ** 12] * dropped, queries_issued=3000 + dropped,
                                                   duration_s=2.0))
    within = sum(1 for value in latencies if value <= bound_ns)
    binned = mlperf.evaluate_binned(rules, _hist(latencies), queries_issued=3000 + dropped, duration_s=2.0,
                                    dropped=dropped, within=within)
    assert (binned.valid, binned.latency_bound_met, binned.early_stopping_met) == (
        exact.valid, exact.latency_bound_met, exact.early_stopping_met)
    assert (binned.server.overlatency, binned.server.needed) == (exact.server.overlatency, exact.server.needed)
    assert [r.split(":")[0] for r in binned.reasons] == [r.split(":")[0] for r in exact.reasons]


def test_binned_multi_stream_and_what_binned_needs():
    rules = mlperf.Rules(mlperf.MULTI_STREAM, 1.0, 662, samples_per_query=8, percentile=0.99)
    per_query = [2000000 + (k * 7919) % 3000000 for k in range(700)]
    exact = mlperf.evaluate(rules, mlperf.Measured([1] * 5600, queries_issued=700, duration_s=2.0,
                                                   query_latencies_ns=per_query))
    binned = mlperf.evaluate_binned(rules, {"1": 5600}, queries_issued=700, duration_s=2.0,
                                    query_hist=_hist(per_query))
    assert binned.valid is exact.valid is True
    assert binned.early_stopping.estimate_ns == _bucket_edge_ns(exact.early_stopping.estimate_ns)
    with pytest.raises(ValueError, match="server needs the number of queries completed within the latency bound"):
        mlperf.evaluate_binned(mlperf.rules_for(mlperf.SERVER, latency_bound_ms=5), {"40": 3}, 3, 1.0)
    with pytest.raises(ValueError, match="multi-stream needs a per-query histogram counting every query"):
        mlperf.evaluate_binned(rules, {"40": 16}, 2, 1.0, query_hist={"40": 1})
    with pytest.raises(ValueError, match="no latencies"):
        mlperf.evaluate_binned(rules, {}, 0, 1.0)


def test_binned_latencies_read_in_order():
    one_ms, ten_ms = latency.bucket_of(0.001), latency.bucket_of(0.01)
    ordered = mlperf.BinnedLatencies({str(ten_ms): 2, str(one_ms): 3}, dropped=1)
    assert len(ordered) == 6
    assert [ordered[i] for i in range(6)] == [_bucket_edge_ns(1000000)] * 3 + [_bucket_edge_ns(10000000)] * 2 + [math.inf]
    with pytest.raises(IndexError):
        ordered[6]
