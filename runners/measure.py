"""Waiting for a measurement: warm-up, then a fixed duration or the steady-state rule.

Shared by ``edgemt run``, the experiments and the UI's experiment launcher.

A ``Measurement`` names *one span*, ``[since, until]``, on the window grid: every figure
of the result (images, seconds, throughput, energy, resources, latency) is over it
(docs/experiments.md, "The span of a result"):

- with ``duration``: from the first window edge after every tenant is warm, for the
  duration rounded up to whole windows;
- ended by the steady-state rule: the steady windows (the last slots the rule judged);
  the windows from the phase's start to them are the *ramp*, ``[phase_since, since]``,
  reported apart;
- otherwise (``max time``, a tenant failed, stopped): the whole windows every reporting
  tenant covered.
"""
import asyncio
from dataclasses import dataclass

from storage import aggregate
from runners import open_loop
from runners.tenant_state import TenantState


@dataclass
class Measurement:
    since: float  # start of the span every figure describes (seconds on the run clock)
    until: float  # its end
    steady: bool  # the steady-state rule held (False: duration given, or max_s reached)
    reason: str  # "duration" | "steady" | "max time" | "all failed" | "stopped"
    phase_since: float = None  # where the measured phase began; [phase_since, since] is the ramp

    @property
    def ramp(self):
        """(start, end) of the windows before the steady ones, or None."""
        if self.phase_since is None or self.since - self.phase_since <= 1e-6:
            return None
        return (self.phase_since, self.since)


async def wait_warm(sup, tenants, timeout: float = 600.0, stop=None) -> None:
    """Returns once every tenant is warm (running or paused) or has failed."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while any(t.status == TenantState.STARTING for t in tenants):
        if loop.time() > end or (stop is not None and stop.is_set()):
            return
        await asyncio.sleep(0.1)


async def measure(sup, tenants=None, duration: float = None, max_s: float = 300.0, min_batches: int = 30,
                  steady_windows: int = 3, tolerance: float = 0.10, on_tick=None, stop=None,
                  since_at: float = None) -> Measurement:
    """Measures the given tenants (default: all) after their warm-up. ``since_at`` (a window
    edge on the run clock: ``edgemt run --measure-at``): the measured phase starts there
    when every tenant is warm by then (they go on warming until it), else as usual."""
    tenants = list(tenants if tenants is not None else sup.all_tenants())
    await wait_warm(sup, tenants, stop=stop)
    # The measured phase starts at the next window boundary after every tenant is warm.
    w = sup.window_s
    since = (int(sup.now() / w) + 1) * w
    if since_at is not None and sup.now() <= since_at:
        since = since_at
    # --max-duration counts from warm; with since_at, from the measured phase (not the wait for it)
    start = sup.now() if since_at is None else max(sup.now(), since)
    reason = "duration"
    end = aggregate.end_on_grid(since, duration, w) if duration is not None else None
    while True:
        await asyncio.sleep(min(w / 4, 0.25))
        if on_tick is not None:
            on_tick()
        elapsed = sup.now() - start
        running = [t for t in tenants if t.status in (TenantState.RUNNING, TenantState.PAUSED)]
        if not running:
            reason = "all failed" if any(t.status == TenantState.FAILED for t in tenants) else "stopped"
            break
        if stop is not None and stop.is_set():
            reason = "stopped"
            break
        if duration is not None:
            reported = all(t.last_window is not None and t.last_window.t_end >= end - 1e-3 for t in running)
            if (sup.now() >= end and reported) or sup.now() >= end + 2 * w:
                break
            continue
        if _steady(running, since, min_batches, steady_windows, tolerance):
            reason = "steady"
            break
        if elapsed >= max_s:
            reason = "max time"
            break
    until = end if (duration is not None and reason == "duration") else sup.now()
    per = {t.id: in_phase(t, since, until) for t in tenants}
    reported = {k: v for k, v in per.items() if v}
    span = aggregate.steady_span(reported, steady_windows) if reason == "steady" else None
    if span is None:  # eq. (1): the interval every tenant that reported covered
        span = aggregate.common_span(reported) or (since, until)
    return Measurement(span[0], span[1], reason == "steady", reason, phase_since=since)


def _steady(tenants, since, min_batches, windows, tolerance) -> bool:
    # the recent windows and running totals: this runs every tick, so it never reads the DB
    # (the supervisor keeps a bounded number of windows per tenant; runners/window_log.py)
    per = {t.id: [x for x in t.recent if x.t_start >= since - 1e-3] for t in tenants}
    batches = {t.id: t.totals(since)[1] for t in tenants}
    return aggregate.is_steady(per, batches, min_batches, windows, tolerance)


def in_phase(t, since: float, until: float = None) -> list:
    """A tenant's whole windows inside ``[since, until]``: from memory when recent, else
    from the DB (runners/window_log.py)."""
    return t.windows_between(since, until)


def tenant_summary(t, since: float, until: float = None) -> dict:
    """One tenant's figures over ``[since, until]`` (the result's span)."""
    from runners.child import latency

    ws = in_phase(t, since, until)
    hist = {}
    for x in ws:  # latencies of the measured phase only
        latency.merge(hist, x.hist or {})
    pct = {f"p{q}": (None if latency.percentile(hist, q) is None else round(latency.percentile(hist, q) * 1000, 3))
           for q in (50, 90, 99)}
    return {
        "id": t.id, "group": t.group.id, "model": t.spec.model, "framework": t.spec.framework,
        "resource": t.spec.resource, "batch": t.batch, "isolation": t.spec.isolation, "threads": t.spec.threads,
        "status": "failed" if t.status == TenantState.FAILED else "ok", "error": t.error,
        "images": sum(x.images for x in ws), "batches": sum(x.batches for x in ws),
        "throughput": round(_rate(ws, since, until), 3), "latency_ms": pct,
        "weights": t.weights, "moved_from": t.moved_from,
        # an open-loop tenant's queries (runners/open_loop.py); None for closed loop
        "open_loop": open_loop.summary(t.spec, ws, None if until is None else until - since),
    }


def _rate(ws, since: float, until: float = None) -> float:
    """Images of ``ws`` / the result's span (its own windows' span without ``until``)."""
    if until is None or until - since <= 1e-9:
        return aggregate.tenant_throughput(ws)
    return sum(w.images for w in ws) / (until - since)
