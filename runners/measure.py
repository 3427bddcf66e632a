"""Waiting for a measurement: warm-up, then a fixed duration or the steady-state rule.

Shared by ``edgemt run``, the experiments and the UI's experiment launcher.
"""
import asyncio
from dataclasses import dataclass


@dataclass
class Measurement:
    since: float  # seconds since run start at which the measured phase began
    until: float
    steady: bool  # the steady-state rule held (False: duration given, or max_s reached)
    reason: str  # "duration" | "steady" | "max time" | "all failed" | "stopped"


async def wait_warm(sup, tenants, timeout: float = 600.0, stop=None) -> None:
    """Returns once every tenant is warm (running or paused) or has failed."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while any(t.status == "starting" for t in tenants):
        if loop.time() > end or (stop is not None and stop.is_set()):
            return
        await asyncio.sleep(0.1)


async def measure(sup, tenants=None, duration: float = None, max_s: float = 300.0, min_batches: int = 30,
                  steady_windows: int = 3, tolerance: float = 0.10, on_tick=None, stop=None) -> Measurement:
    """Measures the given tenants (default: all) after their warm-up."""
    tenants = list(tenants if tenants is not None else sup.all_tenants())
    await wait_warm(sup, tenants, stop=stop)
    # The measured phase starts at the next window boundary after every tenant is warm.
    w = sup.window_s
    since = (int(sup.now() / w) + 1) * w
    start = sup.now()
    reason = "duration"
    while True:
        await asyncio.sleep(min(w / 4, 0.25))
        if on_tick is not None:
            on_tick()
        elapsed = sup.now() - start
        running = [t for t in tenants if t.status in ("running", "paused")]
        if not running:
            reason = "all failed" if any(t.status == "failed" for t in tenants) else "stopped"
            break
        if stop is not None and stop.is_set():
            reason = "stopped"
            break
        if duration is not None:
            end = since + duration
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
    until = sup.now()
    if duration is not None and reason == "duration":
        until = since + duration
    return Measurement(since, until, reason == "steady", reason)


def _steady(tenants, since, min_batches, windows, tolerance) -> bool:
    from runners import aggregate

    # the recent windows and running totals: this runs every tick, so it never reads the DB
    # (the supervisor keeps a bounded number of windows per tenant; runners/window_log.py)
    per = {t.id: [x for x in t.recent if x.t_start >= since - 1e-3] for t in tenants}
    batches = {t.id: t.totals(since)[1] for t in tenants}
    return aggregate.is_steady(per, batches, min_batches, windows, tolerance)


def in_phase(t, since: float, until: float = None) -> list:
    """A tenant's windows inside the measured phase."""
    return t.windows_between(since, until)  # from memory when recent, else from the DB


def tenant_summary(t, since: float) -> dict:
    from runners import aggregate
    from runners.child import latency

    ws = in_phase(t, since)
    hist = {}
    for x in ws:  # latencies of the measured phase only
        latency.merge(hist, x.hist or {})
    pct = {f"p{q}": (None if latency.percentile(hist, q) is None else round(latency.percentile(hist, q) * 1000, 3))
           for q in (50, 90, 99)}
    return {
        "id": t.id, "group": t.group.id, "model": t.spec.model, "framework": t.spec.framework,
        "resource": t.spec.resource, "batch": t.batch, "isolation": t.spec.isolation, "threads": t.spec.threads,
        "status": "failed" if t.status == "failed" else "ok", "error": t.error,
        "images": sum(x.images for x in ws), "batches": sum(x.batches for x in ws),
        "throughput": round(aggregate.tenant_throughput(ws), 3), "latency_ms": pct,
        "weights": t.weights, "moved_from": t.moved_from,
    }
