"""A tenant's windows in bounded memory: the last few kept, running totals over all of them,
and older ones read back from the run's DB.

The controller must stay up for days (``--keep-running``) and hold thousands of tenants,
so it never keeps every window: memory is bounded by the number of tenants, not by the
number of windows (issue 13). A ``WindowLog`` holds

- ``recent``: the last ``keep`` windows (with their latency histograms), for the
  steady-state rule, the current rate and the UI;
- running totals over every window: ``count``, ``images``, ``batches``, ``hist``,
  ``first_start``, ``last_end``, and per recent window the images and batches up to and
  including it, so the images between two times are two look-ups, not a scan;
- ``between(since, until)``: the whole windows inside a span, from ``recent`` when it
  still holds every window of the span, else from the DB (``source``, the Store), where
  every window is written as it arrives;
- ``totals(since, until)``: images, batches, first start and last end of the whole
  windows inside a span, from the running totals (a phase start's totals are remembered
  once it is in the past, so a measured phase longer than ``recent`` costs one DB query
  per tenant, not one per tick).

"Inside a span" is the rule used everywhere: ``t_start >= since - EPS`` and
``t_end <= until + EPS`` (window edges are grid multiples rounded to the millisecond).
Windows of one tenant arrive in time order and never overlap.
"""
import collections
import sys

from storage.aggregate import EPS, Window

KEEP = 16  # recent windows per tenant (the steady-state rule needs 3 complete slots)
MARKS = 8  # span starts whose totals are remembered (measure's phase start, a summary's)


def compact_hist(hist) -> dict:
    """A window's histogram with interned bucket keys: thousands of tenants' recent windows
    share the few dozen key strings instead of holding a copy each."""
    if not hist:
        return {}
    intern = sys.intern
    return {intern(k) if type(k) is str else intern(str(k)): v for k, v in hist.items()}


class WindowLog:
    """One tenant's windows: a bounded recent ring, running totals, the DB for the rest."""

    __slots__ = ("tenant_id", "source", "recent", "_cum", "count", "images", "batches", "hist",
                 "first_start", "last_end", "_evicted_start", "_marks")

    def __init__(self, tenant_id, source=None, keep: int = KEEP):
        self.tenant_id = tenant_id
        self.source = source  # has windows_between(tenant, since, until) and window_totals(...)
        self.recent = collections.deque(maxlen=max(1, keep))
        self._cum = collections.deque(maxlen=max(1, keep))  # (images, batches) through each recent window
        self.count = 0
        self.images = 0
        self.batches = 0
        self.hist = {}
        self.first_start = None
        self.last_end = None
        self._evicted_start = None  # t_start of the newest window no longer in ``recent``
        self._marks = collections.OrderedDict()  # since -> (images before, batches before, first start)

    def append(self, w: Window) -> None:
        # Runs once a window (2,000 a second at 2,000 tenants): attributes read once each.
        recent = self.recent
        if len(recent) == recent.maxlen:
            self._evicted_start = recent[0].t_start
        recent.append(w)
        self.count += 1
        images = self.images = self.images + w.images
        batches = self.batches = self.batches + w.batches
        self._cum.append((images, batches))
        if w.hist:
            total = self.hist
            get = total.get
            for k, v in w.hist.items():
                total[k] = get(k, 0) + v
        if self.first_start is None:
            self.first_start = w.t_start
        self.last_end = w.t_end

    @property
    def last(self):
        return self.recent[-1] if self.recent else None

    def _covers(self, since) -> bool:
        """``recent`` holds every window that starts at or after ``since``."""
        if self._evicted_start is None:
            return True
        return since is not None and since - EPS > self._evicted_start

    # -- windows -------------------------------------------------------------------------
    def between(self, since: float = None, until: float = None) -> list:
        """The whole windows inside ``[since, until]`` (None: open end), oldest first."""
        if self._covers(since) or self.source is None:
            return [w for w in self.recent if (since is None or w.t_start >= since - EPS)
                    and (until is None or w.t_end <= until + EPS)]
        return self.source.windows_between(self.tenant_id, since, until)

    # -- totals --------------------------------------------------------------------------
    def _before(self, since):
        """(images, batches) of the windows starting before ``since``, and the first start
        at or after it (None if no such window yet)."""
        if since is None:
            return 0, 0, self.first_start
        mark = self._marks.get(since)
        if mark is not None:
            return mark
        if not self.count:
            return 0, 0, None
        if self._covers(since):
            w0, (i0, b0) = self.recent[0], self._cum[0]
            images, batches, first = i0 - w0.images, b0 - w0.batches, None
            for w, (i, b) in zip(self.recent, self._cum):
                if w.t_start < since - EPS:
                    images, batches = i, b
                else:
                    first = w.t_start
                    break
            result = (images, batches, first)
        elif self.source is not None:
            result = self.source.window_totals_before(self.tenant_id, since - EPS)
        else:
            return 0, 0, None
        if result[2] is not None:  # a later window arrived: nothing more can start before since
            self._marks[since] = result
            while len(self._marks) > MARKS:
                self._marks.popitem(last=False)
        return result

    def _through(self, until):
        """(images, batches) of the windows ending by ``until``, and the last such end."""
        if until is None or (self.last_end is not None and self.last_end <= until + EPS):
            return self.images, self.batches, self.last_end
        for w, (i, b) in zip(reversed(self.recent), reversed(self._cum)):
            if w.t_end <= until + EPS:
                return i, b, w.t_end
        if self._evicted_start is None or self.source is None:
            return 0, 0, None
        return self.source.window_totals_through(self.tenant_id, until + EPS)

    def totals(self, since: float = None, until: float = None):
        """(images, batches, first start, last end) of the whole windows inside
        ``[since, until]``; (0, 0, None, None) when there is none."""
        i0, b0, first = self._before(since)
        i1, b1, last = self._through(until)
        if first is None or last is None or last - first <= 1e-9:
            return 0, 0, None, None
        return i1 - i0, b1 - b0, first, last

    def throughput(self, since: float = None, until: float = None) -> float:
        """Images / span of the whole windows inside ``[since, until]`` (a tenant's figure)."""
        images, _, first, last = self.totals(since, until)
        return images / (last - first) if first is not None else 0.0
