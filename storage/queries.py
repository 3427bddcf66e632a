"""An open-loop tenant's queries: the counts of windows added up, and the SLO figures.

Pure functions over the ``queries`` of ``storage.aggregate.Window`` (a dict of the counts
a runner child reports per window, runners/child/wire.py) or of rows of the windows
table. The figures are defined in docs/experiments.md ("Open loop"); every output
(``edgemt run`` summary and ``--json``, the CSV timeline) computes them here:

- **SLO attainment** = queries completed within the SLO's latency / (queries completed +
  queries dropped): a dropped query never met it;
- **goodput** = queries completed within the SLO's latency / the span's seconds;
- the SLO (``slo=pN:MS``) is **met** when the attainment is at least N/100, which is the
  same as "the N-th percentile of the queries' latencies, a dropped query counting as
  infinitely late, is within MS" (exact: the child counts ``within`` per query, not from
  the histogram's buckets).

Percentiles of the histograms (latency, start lag) need runners/child/latency.py and are
taken in runners/open_loop.py; everything here is plain arithmetic, so storage needs
nothing above it.
"""
COUNTS = ("scheduled", "started", "completed", "dropped", "within")
# a windows row's columns after hist, in this order (storage/schema.WINDOW_QUERY_COLUMNS)
ROW = ("scheduled", "started", "completed", "dropped", "within", "queue", "lag_sum", "lag_max", "lag_hist", "qhist")


def from_row(values):
    """A window's ``queries`` dict from the query columns of a windows row, or None (closed loop)."""
    import json

    if values[0] is None:
        return None
    q = dict(zip(ROW, values))
    q["lag_hist"] = json.loads(q["lag_hist"] or "{}")
    q["qhist"] = json.loads(q["qhist"] or "{}")
    if q["within"] is None:
        del q["within"]
    return q


def _merge(into, hist):
    for k, v in (hist or {}).items():
        into[k] = into.get(k, 0) + v


def totals(windows) -> dict:
    """The query counts of windows (``Window`` or dicts with ``queries``) added up, or None
    when none of them is an open-loop window. ``queue``: the last window's (queries waiting
    at the end); ``within``: None when no window counted it (no SLO)."""
    out = dict(scheduled=0, started=0, completed=0, dropped=0, within=None, lag_sum=0.0, lag_max=0.0,
               lag_hist={}, qhist={}, queue=None, windows=0)
    for w in windows:
        q = w.queries if hasattr(w, "queries") else w.get("queries")
        if q is None:
            continue
        out["windows"] += 1
        for k in ("scheduled", "started", "completed", "dropped"):
            out[k] += q[k]
        if q.get("within") is not None:
            out["within"] = (out["within"] or 0) + q["within"]
        out["lag_sum"] += q["lag_sum"]
        out["lag_max"] = max(out["lag_max"], q["lag_max"])
        _merge(out["lag_hist"], q["lag_hist"])
        _merge(out["qhist"], q["qhist"])
        out["queue"] = q["queue"]
    return out if out["windows"] else None


def attainment(within, completed, dropped):
    """Queries within the SLO / queries that ended (completed or dropped); None without any."""
    if within is None or completed + dropped == 0:
        return None
    return within / (completed + dropped)


def goodput(within, seconds):
    """Queries within the SLO a second over ``seconds``; None without an SLO or a span."""
    if within is None or not seconds or seconds <= 0:
        return None
    return within / seconds


def slo_met(att, percentile):
    """Whether an attainment meets an SLO on the given percentile (None: nothing ended)."""
    if att is None:
        return None
    return att >= percentile / 100.0 - 1e-12
