"""Throughput arithmetic of the study's equation (1), on windows: pure functions.

A window is ``(t_start, t_end, images)`` on the common grid (every child ends its
windows at ``epoch + k * window_s``), so tenants that started at different times line
up slot by slot.

- A tenant's throughput: images completed in its measured phase / the phase's length.
- A level's (CME) or a placement's or a run's (DMP) throughput: the sum over its tenants
  of the images completed in the interval when all of them were running / that interval.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    t_start: float
    t_end: float
    images: int
    batches: int = 0
    hist: dict = None  # sparse latency histogram of the window


def tenant_throughput(windows) -> float:
    """Images per second over a tenant's windows (0.0 without any)."""
    if not windows:
        return 0.0
    span = max(w.t_end for w in windows) - min(w.t_start for w in windows)
    return sum(w.images for w in windows) / span if span > 0 else 0.0


def common_span(per_tenant: dict, eps: float = 1e-6):
    """(start, end) of the interval every tenant with windows covers, or None."""
    spans = [(min(w.t_start for w in ws), max(w.t_end for w in ws)) for ws in per_tenant.values() if ws]
    if not spans or len(spans) < len(per_tenant):
        return None
    start = max(s for s, _ in spans)
    end = min(e for _, e in spans)
    return (start, end) if end - start > eps else None


def level_throughput(per_tenant: dict, eps: float = 1e-6) -> float:
    """Sum of images completed while all tenants ran / that interval (0.0 if they never overlap)."""
    span = common_span(per_tenant, eps)
    if span is None:
        return 0.0
    start, end = span
    images = sum(
        w.images for ws in per_tenant.values() for w in ws if w.t_start >= start - eps and w.t_end <= end + eps
    )
    return images / (end - start)


def slot_totals(per_tenant: dict, eps: float = 1e-6) -> list:
    """[(t_start, t_end, total images)] for each grid slot in which every tenant reported."""
    slots = {}
    for ws in per_tenant.values():
        for w in ws:
            key = (round(w.t_start, 3), round(w.t_end, 3))
            slots.setdefault(key, []).append(w.images)
    n = len(per_tenant)
    return [(s, e, sum(v)) for (s, e), v in sorted(slots.items()) if len(v) == n]


def is_steady(per_tenant: dict, batches_by_tenant: dict, min_batches: int = 30, windows: int = 3,
              tolerance: float = 0.10) -> bool:
    """The study's stopping rule made explicit: every tenant has done ``min_batches`` and the
    last ``windows`` slots' totals agree within ``tolerance`` (max - min <= tolerance * max)."""
    if not per_tenant or any(batches_by_tenant.get(t, 0) < min_batches for t in per_tenant):
        return False
    totals = [tot for _, _, tot in slot_totals(per_tenant)]
    if len(totals) < windows:
        return False
    last = totals[-windows:]
    hi, lo = max(last), min(last)
    return hi > 0 and hi - lo <= tolerance * hi
