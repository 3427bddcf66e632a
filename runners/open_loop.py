"""An open-loop tenant's figures over a span, and its windows' query counts as received.

The definitions are in docs/experiments.md ("Open loop") and the arithmetic in
storage/queries.py; this adds the percentiles of the histograms (runners/child/latency.py),
which storage cannot import. ``summary`` is what ``edgemt run`` prints and ``--json``
holds per tenant; ``window_figures`` the same for one window (the CSV timeline's
columns come from storage/queries.py directly).
"""
from runners.child import arrivals, latency
from storage import queries

# the keys of a window event that an open-loop child adds (runners/child/wire.py)
WINDOW_KEYS = ("scheduled", "started", "completed", "dropped", "queue", "lag_sum", "lag_max", "lag_hist", "qhist")


def window_queries(msg: dict):
    """The ``queries`` of a window event (``storage.aggregate.Window.queries``), None for a
    closed-loop tenant's window."""
    if "scheduled" not in msg:
        return None
    q = {k: msg.get(k) for k in WINDOW_KEYS}
    for k in ("scheduled", "started", "completed", "dropped", "queue"):
        q[k] = int(q[k] or 0)
    q["lag_sum"] = float(q["lag_sum"] or 0.0)
    q["lag_max"] = float(q["lag_max"] or 0.0)
    q["lag_hist"] = dict(q["lag_hist"] or {})
    q["qhist"] = dict(q["qhist"] or {})
    if msg.get("within") is not None:
        q["within"] = int(msg["within"])
    return q


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def figures(spec, tot: dict, seconds) -> dict:
    """The figures of query totals (storage.queries.totals) over ``seconds``."""
    started = tot["started"]
    out = {
        "rate": spec.rate, "arrival": spec.arrival, "queue_bound": spec.queue or arrivals.DEFAULT_QUEUE,
        "rt": bool(getattr(spec, "rt", None)),  # waited for its slots at real-time priority
        "scheduled": tot["scheduled"], "started": started, "completed": tot["completed"],
        "dropped": tot["dropped"], "queue": tot["queue"],
        "offered_qps": None if not seconds else round(tot["scheduled"] / seconds, 3),
        "completed_qps": None if not seconds else round(tot["completed"] / seconds, 3),
        "lag_ms": {"mean": _ms(tot["lag_sum"] / started) if started else None,
                   "max": _ms(tot["lag_max"]) if started else None,
                   "p99": _ms(latency.percentile(tot["lag_hist"], 99))},
        "latency_ms": {f"p{q}": _ms(latency.percentile(tot["qhist"], q)) for q in (50, 90, 99)},
        "slo": None,
    }
    if spec.slo_ms is not None:
        within = tot["within"] or 0
        att = queries.attainment(within, tot["completed"], tot["dropped"])
        good = queries.goodput(within, seconds)
        out["slo"] = {
            "ms": spec.slo_ms, "percentile": spec.slo_pct, "within": within,
            # the measured latency at the SLO's percentile (bucket upper edge; dropped queries not in it)
            "latency_ms": _ms(latency.percentile(tot["qhist"], spec.slo_pct)),
            "attainment": None if att is None else round(att, 4),
            "goodput_qps": None if good is None else round(good, 3),
            "met": queries.slo_met(att, spec.slo_pct),
        }
    return out


def summary(spec, windows, seconds):
    """An open-loop tenant's figures over its windows of a span (``seconds`` long; None:
    the windows' own span), or None for a closed-loop tenant."""
    if not getattr(spec, "open_loop", False):
        return None
    windows = list(windows)
    if seconds is None and windows:
        seconds = max(w.t_end for w in windows) - min(w.t_start for w in windows)
    tot = queries.totals(windows)
    if tot is None:
        tot = queries.totals([_Empty])
    return figures(spec, tot, seconds)


class _Empty:
    """A window without queries (a span in which no window came)."""
    queries = dict(scheduled=0, started=0, completed=0, dropped=0, queue=0, lag_sum=0.0, lag_max=0.0,
                   lag_hist={}, qhist={})


def window_figures(spec, window):
    """``summary`` of one window."""
    return summary(spec, [window], window.t_end - window.t_start)
