"""MLPerf Inference's scenario rules and the statistics of a result, as the official LoadGen computes them.

One job: given a scenario's rules and what a run measured (per-query latencies, how many
queries were issued, how long the run lasted), say what MLPerf would report: the
scenario's percentile, its early-stopping estimate, the query counts, and whether the
result is VALID, with every reason it is not. Also the Server scenario's Poisson
schedule. Nothing here runs anything or touches a clock: the runs are measured
elsewhere, and the tests (tests/mlperf/) check every figure against the official LoadGen
(``mlcommons-loadgen``) driving a system under test with the same latencies.

The official LoadGen has no wheel for aarch64 boards, hence this module. It follows
LoadGen 6.0 (loadgen/results.cc, early_stopping.cc, loadgen.cc) in what it computes,
including the places where the exact figure depends on how LoadGen computes it:

- a percentile is the latency at index ``int(n * p)`` of the sorted latencies;
- early stopping asks for the smallest number ``h`` of queries within the bound such
  that, with ``t`` queries over it, ``h + t`` queries show with 99 % confidence that the
  percentile holds: P(at most ``t`` of ``h + t`` queries over | each is over with
  probability ``1 - p``) < 1 - 0.99, the binomial tail written as a regularized
  incomplete beta function, summed by the same series as LoadGen's so the comparisons
  with 1 % agree. LoadGen searches for ``h`` in a bracket extrapolated from the ``h`` of
  smaller ``t``; the least ``h`` found here is LoadGen's for every ``t`` checked;
- the Server schedule draws exponential inter-arrival times from a 32-bit Mersenne
  twister seeded as LoadGen seeds its own, so a seed gives LoadGen's schedule to the
  nanosecond.

Definitions of every figure and verdict: docs/experiments.md, "MLPerf scenarios".
"""
from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from runners.child import latency

SINGLE_STREAM = "single-stream"
MULTI_STREAM = "multi-stream"
SERVER = "server"
OFFLINE = "offline"
SCENARIOS = (SINGLE_STREAM, MULTI_STREAM, SERVER, OFFLINE)

# The rules' minimums (MLPerf Inference, mlperf.conf): every scenario runs 600 s at least.
RULE_MIN_DURATION_S = 600.0
# The least number of queries (Offline: samples in its one query). SingleStream and
# Server keep LoadGen's default of 100: early stopping asks for more where it needs more.
RULE_MIN_QUERIES = {SINGLE_STREAM: 100, MULTI_STREAM: 662, SERVER: 100, OFFLINE: 24576}
# The percentile each scenario reports (Offline reports throughput, no percentile).
RULE_PERCENTILE = {SINGLE_STREAM: 0.90, MULTI_STREAM: 0.99, SERVER: 0.99, OFFLINE: None}
MULTI_STREAM_SAMPLES_PER_QUERY = 8
# The percentile LoadGen also estimates in SingleStream (a MultiStream result inferred
# from a SingleStream run).
SINGLE_STREAM_ALSO_PERCENTILE = 0.99
# --quick: minimums scaled down so a run takes seconds; its result is not comparable.
QUICK_MIN_DURATION_S = 10.0
QUICK_MIN_QUERIES = {SINGLE_STREAM: 100, MULTI_STREAM: 100, SERVER: 100, OFFLINE: 500}

# Early stopping's confidence and tolerance: fixed by LoadGen, not settable.
EARLY_STOPPING_CONFIDENCE = 0.99
EARLY_STOPPING_TOLERANCE = 0.0
# Offline's one query holds 10 % more samples than the expected rate fills in the minimum
# duration (LoadGen's slack), and never fewer than the minimum sample count.
OFFLINE_SLACK = 1.1
# mlperf.conf's schedule seed; LoadGen's Mersenne twister keeps its low 32 bits.
RULE_SCHEDULE_SEED = 16159082839903944936


@dataclass(frozen=True)
class Rules:
    """What a scenario asks of a run. Times in seconds, latencies in nanoseconds."""

    scenario: str
    min_duration_s: float
    min_query_count: int
    # Samples each query carries (MultiStream 8; Offline: the one query's size).
    samples_per_query: int = 1
    # The latency percentile the scenario reports; None for Offline.
    percentile: Optional[float] = None
    # Server's latency bound on that percentile.
    latency_bound_ns: Optional[int] = None
    # False when the minimums are not the rules' (--quick): the result is not comparable
    # to a submitted one, whatever its verdict.
    comparable: bool = True

    @property
    def min_sample_count(self) -> int:
        return self.min_query_count * self.samples_per_query


def rules_for(scenario: str, latency_bound_ms: Optional[float] = None, quick: bool = False,
              offline_expected_qps: float = 1.0) -> Rules:
    """The rules of ``scenario``; ``quick`` scales the minimums down (not comparable).

    Server needs ``latency_bound_ms``. Offline's one query holds ``OFFLINE_SLACK`` x the
    minimum duration x ``offline_expected_qps`` samples, at least the minimum sample count.
    """
    if scenario not in SCENARIOS:
        raise ValueError("scenario %r: expected one of %s" % (scenario, ", ".join(SCENARIOS)))
    min_duration_s = QUICK_MIN_DURATION_S if quick else RULE_MIN_DURATION_S
    min_queries = (QUICK_MIN_QUERIES if quick else RULE_MIN_QUERIES)[scenario]
    bound_ns = None
    if scenario == SERVER:
        if latency_bound_ms is None or not latency_bound_ms > 0:
            raise ValueError("server: a latency bound in ms (> 0) is required, got %r" % (latency_bound_ms,))
        bound_ns = int(round(latency_bound_ms * 1e6))
    if scenario == OFFLINE:
        return Rules(OFFLINE, min_duration_s, 1,
                     samples_per_query=offline_query_size(min_queries, min_duration_s, offline_expected_qps),
                     comparable=not quick)
    spq = MULTI_STREAM_SAMPLES_PER_QUERY if scenario == MULTI_STREAM else 1
    return Rules(scenario, min_duration_s, min_queries, samples_per_query=spq,
                 percentile=RULE_PERCENTILE[scenario], latency_bound_ns=bound_ns,
                 comparable=not quick)


def offline_query_size(min_sample_count: int, min_duration_s: float, expected_qps: float) -> int:
    """Samples in Offline's one query: enough for the minimum duration at the expected rate, with slack."""
    return max(int(min_sample_count), int(OFFLINE_SLACK * min_duration_s * expected_qps))


def percentile_latency(sorted_ns: Sequence[int], p: float) -> int:
    """The ``p`` percentile as LoadGen reports it: the sorted latency at index int(n * p)."""
    return sorted_ns[int(len(sorted_ns) * p)]


# --- early stopping -------------------------------------------------------------------

def _log_beta(a: int, b: int) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _hypergeometric_2f1_a1(b: int, c: int, x: float) -> float:
    """2F1(1, b; c; x) by its power series, summed until a term is below 2**-33.

    With ``b`` a negative integer the series is a polynomial (its terms vanish from
    i = -b on), so it ends even where |x| > 1.
    """
    tolerance = 1.0 / (1 << 33)
    term = 1.0
    total = 1.0
    i = 0
    while abs(term) > tolerance:
        # The operation order is LoadGen's, so the sums agree to the last bit.
        term *= (b + i) * x / (c + i)
        total += term
        i += 1
    return total


def _regularized_beta(x: float, a: int, b: int) -> float:
    """I_x(a, b) for integer a, b >= 1, through 2F1(1, 1-b; 1+a; x/(x-1)) (DLMF 8.17.8, 15.8.1)."""
    return (math.exp(a * math.log(x) + (b - 1) * math.log(1 - x) - _log_beta(a, b)) / a
            * _hypergeometric_2f1_a1(1 - b, 1 + a, x / (x - 1)))


def _tail_probability(within: int, over: int, p: float, d: float) -> float:
    """P(at most ``over`` of ``within + over`` queries exceed the bound), each exceeding it
    with probability 1 - (p - d): the binomial CDF, I_(p-d)(within, over + 1)."""
    return _regularized_beta(p - d, within, 1 + over)


def _passes(within: int, over: int, p: float, c: float) -> bool:
    """``within + over`` queries, ``over`` of them over the latency, show the percentile ``p``
    holds with confidence ``c``."""
    return _tail_probability(within, over, p, EARLY_STOPPING_TOLERANCE) < 1 - c


def min_passing_queries(over: int, p: float, c: float = EARLY_STOPPING_CONFIDENCE) -> int:
    """The least number of queries within the latency that, beside ``over`` queries over it,
    pass early stopping: the least h with P(at most ``over`` of h + ``over`` over) < 1 - c.

    The probability falls as h grows, so h is found by bisection: from the expected count
    (h = over * p / (1 - p), where the probability is about one half: it fails), steps
    doubling up until one passes, then halving back. LoadGen brackets its search with an
    extrapolation from the h of smaller counts; for every count checked (up to a million
    queries at p = 0.9 and two million at p = 0.99) its bracket holds this least h, so the
    answers are the same (tests/unit/test_mlperf_rules.py, tests/mlperf/).
    """
    low = max(0, int(over * p / (1 - p)))
    if low > 0 and _passes(low, over, p, c):
        low = 0  # the expected count already passes (a tiny count): search from 0
    step = 1 + int(math.sqrt(over + 1) / (1 - p))
    high = low + step
    while not _passes(high, over, p, c):
        low, step = high, step * 2
        high = low + step
    # low fails (or is 0, never evaluated), high passes.
    while high - low > 1:
        middle = (low + high) // 2
        if _passes(middle, over, p, c):
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class EarlyStoppingEstimate:
    """Early stopping of a percentile from one run's latencies (SingleStream, MultiStream)."""

    percentile: float
    queries: int
    # The least number of queries that can give an estimate (with one over the percentile).
    min_queries: int
    # The estimate (ns): the latency that the percentile is below with 99 % confidence;
    # None when there are fewer than min_queries.
    estimate_ns: Optional[int]
    # How many of the highest latencies the estimate skips.
    discarded: int

    @property
    def met(self) -> bool:
        return self.estimate_ns is not None


def early_stopping_estimate(latencies_ns: Sequence[int], percentile: float) -> EarlyStoppingEstimate:
    """The early-stopping estimate of ``percentile`` from these latencies (SingleStream, MultiStream).

    The largest t such that h(t) + t <= n queries would show the percentile holds with
    t queries over; the estimate is the t-th highest latency. h(t) + t grows with t, so
    t is found by bisection (LoadGen walks t up one by one: the same t). A
    ``BinnedLatencies`` is taken as it is (already in order).
    """
    n = len(latencies_ns)
    h_first = min_passing_queries(1, percentile)
    if n < h_first + 1:
        return EarlyStoppingEstimate(percentile, n, h_first + 1, None, 0)
    fits, too_many = 1, n  # h(n) + n > n: never fits
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if min_passing_queries(middle, percentile) + middle <= n:
            fits = middle
        else:
            too_many = middle
    ordered = latencies_ns if isinstance(latencies_ns, BinnedLatencies) else sorted(latencies_ns)
    return EarlyStoppingEstimate(percentile, n, h_first + 1, ordered[n - fits], fits - 1)


@dataclass(frozen=True)
class ServerEarlyStopping:
    """Early stopping against Server's latency bound."""

    queries: int
    overlatency: int  # queries whose latency is over the bound (strictly)
    needed: int  # queries a run with that many over must have: h(overlatency) + overlatency

    @property
    def met(self) -> bool:
        return self.queries >= self.needed

    @property
    def more_needed(self) -> int:
        return max(0, self.needed - self.queries)



class BinnedLatencies:
    """Latencies known only by bucket, as edgemt's windows carry them: a sparse histogram
    (``runners/child/latency.py``: bucket index -> count) plus queries that never completed
    (dropped at a full queue), which count as the highest latencies of all.

    In order, like a sorted list: item i is the upper edge (ns) of the bucket holding the
    i-th lowest latency (a dropped query's is infinite). So every order statistic, the
    percentile and the early-stopping estimate, is exact to the bucket (12 % at 20 buckets
    a decade); counts, hence every verdict, are exact.
    """

    def __init__(self, hist: Dict[str, int], dropped: int = 0) -> None:
        self._edges = []  # (cumulative count up to and including the bucket, its upper edge ns)
        total = 0
        for index in sorted(hist, key=int):
            if hist[index] > 0:
                total += int(hist[index])
                edge = latency.upper_edge(int(index))
                self._edges.append((total, math.inf if math.isinf(edge) else int(math.ceil(edge * 1e9))))
        if dropped:
            total += int(dropped)
            self._edges.append((total, math.inf))
        self._counts = [count for count, _ in self._edges]
        self._len = total

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int):
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._edges[bisect.bisect_right(self._counts, i)][1]


# --- a run's result -------------------------------------------------------------------

@dataclass
class Measured:
    """What a run measured, as the statistics need it. Latencies in ns, times in s since the run's start.

    ``duration_s`` is the time the minimum-duration rule judges: SingleStream and
    MultiStream, when the last query was issued; Server, when the last query was
    scheduled. Offline leaves it out: its duration is when the last sample completed,
    which is its longest latency (every sample is issued at the start).
    """

    sample_latencies_ns: List[int]
    queries_issued: int
    duration_s: Optional[float] = None
    # MultiStream: per query, from its scheduled time to its last sample's completion.
    query_latencies_ns: Optional[List[int]] = None
    # Server: when the last query completed (for the completed-queries rate).
    all_done_s: Optional[float] = None


@dataclass
class Result:
    """MLPerf's verdict on one run and the figures it reports."""

    scenario: str
    valid: bool
    reasons: List[str]
    min_duration_met: bool
    min_queries_met: bool
    early_stopping_met: bool
    query_count: int
    sample_count: int
    comparable: bool
    # Server only: the percentile is within the latency bound.
    latency_bound_met: Optional[bool] = None
    percentile: Optional[float] = None
    # The percentile of the latencies (ns): per query in MultiStream, per sample otherwise.
    percentile_latency_ns: Optional[int] = None
    early_stopping: Optional[EarlyStoppingEstimate] = None
    # SingleStream also estimates the 99th percentile (None when too few queries for it).
    early_stopping_99: Optional[EarlyStoppingEstimate] = None
    server: Optional[ServerEarlyStopping] = None
    # Offline: samples per second; Server: completed queries per second.
    throughput: Optional[float] = None
    scheduled_qps: Optional[float] = None


def evaluate(rules: Rules, measured: Measured) -> Result:
    """The verdict and figures of ``measured`` under ``rules``."""
    latencies = measured.sample_latencies_ns
    if not latencies:
        raise ValueError("no latencies: a run with no completed query has no result")
    ordered = sorted(latencies)
    per_query = measured.query_latencies_ns
    if rules.scenario == MULTI_STREAM:
        if per_query is None or len(per_query) != measured.queries_issued:
            raise ValueError("multi-stream needs one latency per query (from its scheduled time to its last sample)")
        per_query = sorted(per_query)
    over = None
    if rules.scenario == SERVER:
        over = sum(1 for value in ordered if value > rules.latency_bound_ns)
    duration_s = ordered[-1] / 1e9 if rules.scenario == OFFLINE else measured.duration_s
    return _judge(rules, ordered, measured.queries_issued, duration_s, over, per_query, measured.all_done_s)


def evaluate_binned(rules: Rules, hist: Dict[str, int], queries_issued: int, duration_s: float,
                    dropped: int = 0, within: Optional[int] = None, query_hist: Optional[Dict[str, int]] = None,
                    all_done_s: Optional[float] = None) -> Result:
    """The verdict and figures from what edgemt's windows carry: a latency histogram per
    sample (``hist``; MultiStream also ``query_hist`` per query), queries ``dropped``
    (never completed: over any bound), and for Server the number completed ``within`` the
    latency bound. Every count and verdict is exact, every latency exact to the bucket
    (``BinnedLatencies``). ``duration_s`` as in ``Measured``; Offline gives it too (when its
    last sample completed), since the histogram knows it only to the bucket.
    """
    ordered = BinnedLatencies(hist, dropped)
    if not len(ordered):
        raise ValueError("no latencies: a run with no completed query has no result")
    per_query = None
    if rules.scenario == MULTI_STREAM:
        per_query = BinnedLatencies(query_hist or {}, 0)
        if len(per_query) != queries_issued:
            raise ValueError("multi-stream needs a per-query histogram counting every query")
    over = None
    if rules.scenario == SERVER:
        if within is None:
            raise ValueError("server needs the number of queries completed within the latency bound")
        over = len(ordered) - within
    return _judge(rules, ordered, queries_issued, duration_s, over, per_query, all_done_s)


def _judge(rules: Rules, ordered, queries: int, duration_s: Optional[float], over: Optional[int],
           per_query, all_done_s: Optional[float]) -> Result:
    """The verdict on latencies in order (a sorted list, or ``BinnedLatencies``)."""
    scenario = rules.scenario
    samples = len(ordered)
    reasons = []
    if duration_s is None:
        raise ValueError("%s needs the run's duration (when its last query was %s)" % (
            scenario, "scheduled" if scenario == SERVER else "issued"))
    duration_met = duration_s >= rules.min_duration_s
    if not duration_met:
        what = {SINGLE_STREAM: "last query issued", MULTI_STREAM: "last query issued",
                SERVER: "last query scheduled", OFFLINE: "last sample done"}[scenario]
        reasons.append("min duration not met: %s at %.3f s < %g s" % (what, duration_s, rules.min_duration_s))
    # Offline's minimum is its one query's samples; the others count queries and samples.
    queries_met = queries >= rules.min_query_count and samples >= rules.min_sample_count
    if not queries_met:
        if queries < rules.min_query_count:
            reasons.append("min queries not met: %d < %d" % (queries, rules.min_query_count))
        else:
            reasons.append("min samples not met: %d < %d" % (samples, rules.min_sample_count))

    result = Result(scenario, False, reasons, duration_met, queries_met, True, queries, samples,
                    rules.comparable, percentile=rules.percentile)
    if scenario == SINGLE_STREAM:
        result.percentile_latency_ns = percentile_latency(ordered, rules.percentile)
        result.early_stopping = early_stopping_estimate(ordered, rules.percentile)
        result.early_stopping_met = result.early_stopping.met
        also = early_stopping_estimate(ordered, SINGLE_STREAM_ALSO_PERCENTILE)
        result.early_stopping_99 = also if also.met else None
    elif scenario == MULTI_STREAM:
        result.percentile_latency_ns = percentile_latency(per_query, rules.percentile)
        result.early_stopping = early_stopping_estimate(per_query, rules.percentile)
        result.early_stopping_met = result.early_stopping.met
    elif scenario == SERVER:
        result.percentile_latency_ns = percentile_latency(ordered, rules.percentile)
        # The percentile is the latency at index int(n p): within the bound exactly when more
        # than int(n p) latencies are (a count, so exact from a histogram too).
        result.latency_bound_met = samples - over > int(samples * rules.percentile)
        if not result.latency_bound_met:
            reasons.append("latency bound not met: p%g %s > %.3f ms" % (
                rules.percentile * 100, _ms_text(result.percentile_latency_ns), rules.latency_bound_ns / 1e6))
        result.server = ServerEarlyStopping(samples, over, min_passing_queries(over, rules.percentile) + over)
        result.early_stopping_met = result.server.met
        if all_done_s:
            result.throughput = (samples - 1) / all_done_s
        if duration_s > 0:
            result.scheduled_qps = (samples - 1) / duration_s
    else:
        result.throughput = samples / duration_s

    if scenario in (SINGLE_STREAM, MULTI_STREAM) and not result.early_stopping_met:
        reasons.append("early stopping not met: %d queries, at least %d needed for a p%g estimate" % (
            queries, result.early_stopping.min_queries, rules.percentile * 100))
    if scenario == SERVER and not result.early_stopping_met:
        reasons.append("early stopping not met: %d of %d queries over %.3f ms; %d more within it needed" % (
            result.server.overlatency, queries, rules.latency_bound_ns / 1e6, result.server.more_needed))
    result.valid = not reasons
    return result


def _ms_text(ns) -> str:
    return "never (a dropped query)" if math.isinf(ns) else "%.3f ms" % (ns / 1e6)


# --- Server's schedule ----------------------------------------------------------------

class _MersenneTwister32:
    """std::mt19937 seeded with one integer (its low 32 bits), on Python's own MT19937 core.

    Python's ``random`` is the same generator but seeds it differently; the state below is
    the standard one-word seeding (Matsumoto and Nishimura's init_genrand), handed over
    with ``setstate``.
    """

    def __init__(self, seed: int) -> None:
        state = [seed & 0xFFFFFFFF]
        for i in range(1, 624):
            previous = state[-1]
            state.append((1812433253 * (previous ^ (previous >> 30)) + i) & 0xFFFFFFFF)
        self._generator = random.Random()
        self._generator.setstate((3, tuple(state) + (624,), None))

    def next_u32(self) -> int:
        return self._generator.getrandbits(32)

    def next_unit(self) -> float:
        """A double in [0, 1) from two 32-bit draws, low word first (libstdc++'s generate_canonical)."""
        total = float(self.next_u32())
        total += float(self.next_u32()) * 4294967296.0
        unit = total / 18446744073709551616.0
        # Rounding can reach 1.0; the largest double below 1 stands for it.
        return unit if unit < 1.0 else 1.0 - 2.0 ** -53


def poisson_schedule_ns(qps: float, min_duration_s: float, min_queries: int,
                        seed: int = RULE_SCHEDULE_SEED) -> Tuple[List[int], int]:
    """Server's query arrival times (ns after the start) and the time after the last one.

    Poisson arrivals at ``qps``: exponential gaps, each truncated to whole nanoseconds,
    generated until the last arrival is at or after the minimum duration and there are at
    least ``min_queries``. With LoadGen's seed this is LoadGen's schedule, query for query
    (a run stopped early by a maximum issues a prefix of it).
    """
    if not qps > 0:
        raise ValueError("qps %r: expected a rate > 0" % (qps,))
    generator = _MersenneTwister32(seed)
    min_duration_ns = int(round(min_duration_s * 1e9))
    arrivals = []
    now = 0
    previous = 0
    while previous < min_duration_ns or len(arrivals) < min_queries:
        arrivals.append(now)
        previous = now
        # A gap in seconds, truncated to whole nanoseconds (as std::chrono's cast does).
        now += int(-math.log(1.0 - generator.next_unit()) / qps * 1e9)
    return arrivals, now
