"""Fixed log-spaced latency histogram shared by runner children and the controller.

Every child counts batch latencies into the same buckets, so histograms from any
tenants and any windows add up bucket by bucket, and a percentile over any span is
exact to the bucket (within 12% at 20 buckets a decade). The wire form is sparse:
``{"bucket index": count}`` with string keys, as JSON needs.

Stays importable by Python 3.6 and by the controller: standard library only, no
imports of other child modules.
"""
import math

LOWEST_S = 1e-5  # 10 microseconds: below any real model call
BUCKETS_PER_DECADE = 20
DECADES = 8  # up to 1000 s
N_BUCKETS = BUCKETS_PER_DECADE * DECADES + 2  # + underflow and overflow buckets


def bucket_of(seconds):
    """Index of the bucket that holds a latency in seconds."""
    if seconds < LOWEST_S:
        return 0
    i = int(math.floor(math.log10(seconds / LOWEST_S) * BUCKETS_PER_DECADE)) + 1
    return min(i, N_BUCKETS - 1)


def count(hist, seconds):
    """Counts one latency into sparse histogram ``hist`` (str index -> count)."""
    key = str(bucket_of(seconds))
    hist[key] = hist.get(key, 0) + 1


def upper_edge(index):
    """Upper bound in seconds of bucket ``index`` (the value percentiles report)."""
    if index >= N_BUCKETS - 1:
        return float("inf")
    return LOWEST_S * 10 ** (index / float(BUCKETS_PER_DECADE))


def merge(into, other):
    """Add sparse histogram ``other`` into ``into`` (both dicts of str index -> count)."""
    for k, v in other.items():
        into[k] = into.get(k, 0) + v
    return into


def percentile(hist, q):
    """The q-th percentile (0..100) in seconds of a sparse histogram, or None if empty."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, int(math.ceil(total * q / 100.0)))
    seen = 0
    for k in sorted(hist, key=int):
        seen += hist[k]
        if seen >= rank:
            return upper_edge(int(k))
    return upper_edge(max(int(k) for k in hist))
