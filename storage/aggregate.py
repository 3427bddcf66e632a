"""Throughput arithmetic of the study's equation (1), on windows: pure functions.

A window is ``(t_start, t_end, images)`` on the common grid (every child ends its
windows at ``epoch + k * window_s``), so tenants that started at different times line
up slot by slot.

- A tenant's throughput: images completed in its measured phase / the phase's length.
- A level's (CME) or a placement's or a run's (DMP) throughput: the sum over its tenants
  of the images completed in the interval when all of them were running / that interval.
- The figure of a level measured by the steady-state rule is the rate of its *steady
  windows* (the last slots over which the rule held); the windows before them are its
  *ramp*, reported apart (``steady_span``, ``ramp_summary``).
- A *segment* of a run is a span of consecutive slots in which the same tenants, at the
  same batches, reported (``segments``): what ``edgemt diff`` compares.

Every function takes the windows it needs (lists or any iterable per tenant), so none
depends on where they are kept (the Supervisor's memory or the DB). It lives in storage,
the lowest room, because the supervisor (runners) and the reports read from the DB
(storage: analysis, diff) compute the same figures with it.
"""
import math
from dataclasses import dataclass

# "Inside a span" (``t_start >= since - EPS`` and ``t_end <= until + EPS``): window edges
# are grid multiples rounded to the millisecond.
EPS = 1e-3


@dataclass(frozen=True)
class Window:
    t_start: float
    t_end: float
    images: int
    batches: int = 0
    hist: dict = None  # sparse latency histogram of the window
    queries: dict = None  # an open-loop tenant's queries (storage/queries.py), None for closed loop


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


def in_span(windows, since: float, until: float = None, eps: float = EPS) -> list:
    """The whole windows of ``windows`` inside ``[since, until]`` (``until`` None: no end)."""
    return [w for w in windows if w.t_start >= since - eps and (until is None or w.t_end <= until + eps)]


def images_in(per_tenant: dict, span, eps: float = 1e-6) -> int:
    """Images of every tenant's whole windows inside ``span`` (0 without a span)."""
    if not span:
        return 0
    s, e = span
    return sum(w.images for ws in per_tenant.values() for w in ws if w.t_start >= s - eps and w.t_end <= e + eps)


def batches_in(windows, span, eps: float = 1e-6) -> int:
    """Batches completed in the whole windows inside ``span``."""
    if not span:
        return 0
    s, e = span
    return sum(w.batches for w in windows if w.t_start >= s - eps and w.t_end <= e + eps)


def steady_span(per_tenant: dict, windows: int = 3):
    """(start, end) of the last ``windows`` grid slots in which every tenant reported, when
    they are consecutive; else None. These are the slots the steady-state rule judged."""
    slots = slot_totals(per_tenant)
    if len(slots) < windows:
        return None
    last = slots[-windows:]
    for (_, e0, _), (s1, _, _) in zip(last, last[1:]):
        if abs(s1 - e0) > 1e-3:
            return None
    return (last[0][0], last[-1][1])


def end_on_grid(since: float, duration: float, window_s: float) -> float:
    """The end of a measured phase of ``duration`` seconds from the window edge ``since``,
    rounded up to a whole window (every figure counts whole windows only)."""
    n = max(1, int(math.ceil(duration / window_s - 1e-9)))
    return round(since + n * window_s, 6)


def ramp_summary(per_tenant: dict, span) -> dict:
    """The ramp of a level: ``{since, until, throughput, slots}`` over ``span`` (the windows
    before the steady ones), ``slots`` being each whole slot's total rate; None without a ramp."""
    if not span or span[1] - span[0] <= 1e-6:
        return None
    per = {k: in_span(ws, span[0], span[1]) for k, ws in per_tenant.items()}
    rates = [round(tot / (e - s), 4) for s, e, tot in slot_totals(per) if e > s]
    return {"since": round(span[0], 3), "until": round(span[1], 3),
            "throughput": round(images_in(per, span) / (span[1] - span[0]), 4), "slots": rates}


def segments(rows, eps: float = 1e-3) -> list:
    """Segments of a run from its windows: spans of consecutive grid slots in which the same
    tenants at the same batches reported. ``rows``: any iterable of objects or dicts with
    ``tenant``, ``t_start``, ``t_end``, ``images`` and optionally ``batch`` and ``label``
    (what the tenant is, e.g. ``g1 torch@cpu mobilenet_v2``). Returns, in time order,
    ``[{since, until, images, throughput, tenants: [ids], label}]``; ``label`` names the
    composition (``2x g1 torch@cpu mobilenet_v2 b1``) so runs can be matched segment by segment.
    A slot with no window is a gap and ends a segment."""
    def get(r, k, default=None):
        return r.get(k, default) if isinstance(r, dict) else getattr(r, k, default)

    slots = {}
    for r in rows:
        key = (round(get(r, "t_start"), 3), round(get(r, "t_end"), 3))
        s = slots.setdefault(key, {"images": 0, "members": {}})
        s["images"] += int(get(r, "images"))
        s["members"][get(r, "tenant")] = (get(r, "label") or "", get(r, "batch"))
    out = []
    for (t0, t1), s in sorted(slots.items()):
        members = tuple(sorted(s["members"].items(), key=lambda kv: str(kv[0])))
        cur = out[-1] if out else None
        if cur is not None and cur["_members"] == members and abs(cur["until"] - t0) <= eps:
            cur["until"] = t1
            cur["images"] += s["images"]
        else:
            out.append({"since": t0, "until": t1, "images": s["images"], "_members": members})
    for seg in out:
        members = seg.pop("_members")
        counts = {}
        for _, (label, batch) in members:
            name = label + ("" if batch is None else f" b{batch}")
            counts[name] = counts.get(name, 0) + 1
        seg["tenants"] = [tid for tid, _ in members]
        seg["label"] = ", ".join(f"{n}x {name}".strip() for name, n in sorted(counts.items()))
        span = seg["until"] - seg["since"]
        seg["throughput"] = round(seg["images"] / span, 4) if span > 0 else 0.0
    return out


SAMPLE_META = ("id", "run", "t")


def sample_means(samples, since: float, until: float) -> dict:
    """Time-weighted mean of every numeric metric over ``[since, until]``.

    A sample stamped ``t_i`` describes the interval since the sample before it,
    ``(t_{i-1}, t_i]``: its CPU % and IO rates are counter deltas between the two reads
    (collectors/host.py). So each sample weighs by the part of that interval inside the
    span; the first sample of a run, whose interval is unknown, weighs nothing. ``samples``:
    dicts with ``t`` sorted by ``t`` (the run's rows; a wider list is fine). Returns
    ``{"means": {metric: mean}, "samples": n weighed, "peaks": {metric: max}}``."""
    sums, weights, peaks = {}, {}, {}
    n = 0
    prev_t = None
    for s in samples:
        t = s.get("t")
        if t is None:
            continue
        lo = prev_t
        prev_t = t
        if lo is None or t <= lo:
            continue
        overlap = min(t, until) - max(lo, since)
        if overlap <= 1e-9:
            continue
        n += 1
        for k, v in s.items():
            if k in SAMPLE_META or v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if isinstance(v, float) and math.isnan(v):
                continue
            sums[k] = sums.get(k, 0.0) + v * overlap
            weights[k] = weights.get(k, 0.0) + overlap
            peaks[k] = max(peaks.get(k, v), v)
    return {"means": {k: sums[k] / weights[k] for k in sums if weights[k] > 0}, "samples": n, "peaks": peaks}
