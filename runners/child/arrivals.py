"""Open-loop load: the arrival schedule of a tenant and its bounded queue of queries.

A tenant with a ``rate`` (queries a second; one query is one batch) is driven by an
arrival process instead of running its next batch the moment the last one ends:

- ``constant``: query n is scheduled at ``origin + n / rate`` (a product, not a running
  sum, so the schedule never drifts); query 0 at the origin, so there is no start-up burst;
- ``poisson``: exponential inter-arrival times at ``rate`` from ``random.Random(seed)``;
- ``trace``: the inter-arrival times of a file (seconds, one a line), repeated from its
  first line when they run out.

``Queue.advance(now)`` admits every query scheduled up to ``now`` into the queue, or
drops it when the queue already holds ``bound`` queries. The queue is advanced before
the tenant starts a query and before a window is reported, always under the child's lock;
since every start advances first, a query admitted late is seen by the queue exactly as
it stood at its scheduled time (nothing left the queue in between), so admitting lazily
decides the same drops as a queue fed at each scheduled instant.

Imports the standard library only (no other child module), so the controller reads trace
files with the same code (``read_trace``). Python 3.6-compatible.
"""
import collections
import math
import random

ARRIVALS = ("constant", "poisson", "trace")
DEFAULT_QUEUE = 100  # queries waiting at most (beyond the one running); more are dropped
MAX_TRACE_LINES = 10000000


def read_trace(path):
    """The inter-arrival times (seconds, floats > 0... or 0) of a trace file; ValueError
    naming the first bad line. Blank lines and ``#`` comments are skipped."""
    out = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                v = float(text)
            except ValueError:
                raise ValueError("line %d: %r is not a number of seconds" % (n, text[:40]))
            if not (v >= 0.0) or math.isinf(v):
                raise ValueError("line %d: %r is not a finite number of seconds >= 0" % (n, text[:40]))
            out.append(v)
            if len(out) > MAX_TRACE_LINES:
                raise ValueError("more than %d inter-arrival times" % MAX_TRACE_LINES)
    if not out:
        raise ValueError("no inter-arrival times (one number of seconds a line)")
    if sum(out) <= 0.0:
        raise ValueError("every inter-arrival time is 0: the trace never advances")
    return out


class Schedule(object):
    """The scheduled times of one tenant's queries, from ``origin``, generated on demand."""

    def __init__(self, origin, rate, arrival="constant", seed=None, trace=None):
        self.origin = float(origin)
        self.rate = float(rate)
        self.arrival = arrival
        self.n = 0  # index of the next query
        self.random = random.Random(seed)
        self.trace = trace
        if arrival == "trace" and not trace:
            raise ValueError("arrival trace needs inter-arrival times")
        if arrival not in ARRIVALS:
            raise ValueError("arrival %r: one of %s" % (arrival, ", ".join(ARRIVALS)))
        self.next_time = self.origin  # query 0 arrives at the origin

    def gap(self):
        """The next inter-arrival time (seconds)."""
        if self.arrival == "poisson":
            return self.random.expovariate(self.rate)
        return self.trace[(self.n - 1) % len(self.trace)]

    def pop(self):
        """The scheduled time of the next query; advances the schedule."""
        t = self.next_time
        self.n += 1
        if self.arrival == "constant":
            self.next_time = self.origin + self.n / self.rate
        else:
            self.next_time = t + self.gap()
        return t


class Queue(object):
    """Queries that arrived and did not start yet, bounded: over ``bound`` a query is
    dropped. ``on_arrival(t, dropped)`` is called for each query as it is admitted or
    dropped (the tenant counts it in the window of its scheduled time)."""

    def __init__(self, schedule, bound=DEFAULT_QUEUE, on_arrival=None):
        self.schedule = schedule
        self.bound = int(bound)
        self.waiting = collections.deque()
        self.on_arrival = on_arrival
        self.dropped = 0

    def advance(self, now):
        s = self.schedule
        while s.next_time <= now:
            t = s.pop()
            drop = len(self.waiting) >= self.bound
            if drop:
                self.dropped += 1
            else:
                self.waiting.append(t)
            if self.on_arrival is not None:
                self.on_arrival(t, drop)

    def take(self):
        """The scheduled time of the oldest waiting query (removed), or None."""
        return self.waiting.popleft() if self.waiting else None

    def next_time(self):
        return self.schedule.next_time

    def __len__(self):
        return len(self.waiting)
