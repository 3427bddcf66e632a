"""Energy from sampled power: integrals over a span, joules per inference, per resource.

Pure functions on ``(t, watts)`` points and window rows, plus two readers of the run log
(``run_energy`` for the CLI, the UI and ``edgemt report``; ``window_power`` for the CSV).

The rules, stated once:

- **Energy over a span** ``[t0, t1]`` (seconds on the run clock, the clock of windows and
  samples): the trapezoid rule over the power samples inside the span, with the power at
  ``t0`` and ``t1`` interpolated linearly from the samples either side (so a piecewise
  linear power gives the exact integral). Two samples further apart than ``max_gap_s``
  (10 s) are a gap: nothing is integrated across it. ``coverage`` is the share of the
  span the samples cover; the uncovered rest is counted at the mean power of the covered
  part (``energy_j = mean_power_w * span``), and ``coverage`` says so.
- **Joules per inference** = energy over the span / images completed in the span (the
  windows with ``t_start >= t0`` and ``t_end <= t1``, as ``runners.measure.in_phase``).
- **Board level** is ``power_w`` (the board's total: Jetson input rail or sum of rails,
  else an INA219; see docs/collectors.md). The run's total J/inference uses it.
- **Per resource** only where a rail powers that resource alone: NVML ``gpuN_power_w`` ->
  ``cuda:N``; a Jetson rail ``power_<rail>_w`` whose name has ``gpu`` and not ``cpu``,
  ``soc`` or ``cv`` -> ``cuda:0`` (``VDD_SYS_GPU``, ``POM_5V_GPU``, ``GPU``); one with
  ``cpu`` and not ``gpu``, ``soc`` or ``cv`` -> ``cpu``. Shared rails (``VDD_CPU_GPU_CV``,
  ``VDD_GPU_SOC``, ``VDD_CPU_CV``) and the input rail are not split: those boards get
  board-level figures only, and each placement says why it has none.
- **Per placement and tenant**: the resource's rail energy over the span, shared among
  the placements (tenants) on that resource in proportion to the images each completed,
  so each gets the resource's J/inference. Board energy is never split among placements.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

BOARD = "power_w"
MAX_GAP_S = 10.0
EPS = 1e-3
NOT_MEASURED = "power not measured: no collector on this board reports power_w (see edgemt devices)"


@dataclass(frozen=True)
class Integral:
    """Energy of one power series over one span."""

    energy_j: float | None  # over the whole span (uncovered part at the covered mean power)
    measured_j: float | None  # over the covered part only
    mean_w: float | None
    span_s: float
    covered_s: float
    samples: int  # samples inside the span
    reason: str | None = None

    @property
    def coverage(self) -> float:
        return self.covered_s / self.span_s if self.span_s > 0 else 0.0


def series(rows, column: str) -> list:
    """``[(t, watts)]`` sorted by t from sample rows (dicts), leaving out NULL/NaN values."""
    out = []
    for r in rows:
        v, t = r.get(column), r.get("t")
        if v is None or t is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out.append((float(t), float(v)))
    out.sort()
    return out


def trapezoid(points) -> float:
    """The trapezoid rule over ``[(t, w)]`` sorted by t."""
    return sum((t1 - t0) * (w0 + w1) / 2.0 for (t0, w0), (t1, w1) in zip(points, points[1:]))


def _at(points, t: float, max_gap_s: float):
    """Power at ``t`` interpolated from the samples either side, or None (no bracket, or a gap)."""
    for (ta, wa), (tb, wb) in zip(points, points[1:]):
        if ta <= t <= tb:
            if tb - ta > max_gap_s:
                return None
            return wa if tb == ta else wa + (wb - wa) * (t - ta) / (tb - ta)
    if points and points[0][0] == t:
        return points[0][1]
    return None


def integrate(points, t0: float, t1: float, max_gap_s: float = MAX_GAP_S) -> Integral:
    """Energy of ``points`` over ``[t0, t1]`` by the trapezoid rule (see the module's rules)."""
    span = max(0.0, t1 - t0)
    inside = [(t, w) for t, w in points if t0 <= t <= t1]
    if span <= 0:
        return Integral(None, None, None, span, 0.0, len(inside), "empty span")
    clipped = list(inside)
    for edge in (t0, t1):
        if not any(t == edge for t, _ in clipped):
            w = _at(points, edge, max_gap_s)
            if w is not None:
                clipped.append((edge, w))
    clipped.sort()
    measured = covered = 0.0
    for (ta, wa), (tb, wb) in zip(clipped, clipped[1:]):
        if tb - ta > max_gap_s:
            continue
        measured += (tb - ta) * (wa + wb) / 2.0
        covered += tb - ta
    if covered <= 0:
        why = "no power sample in the span" if not points else "fewer than 2 power samples cover the span"
        return Integral(None, None, None, span, 0.0, len(inside), why)
    mean = measured / covered
    return Integral(mean * span, measured, mean, span, covered, len(inside))


def window_power(points, t_start: float, t_end: float, max_gap_s: float = MAX_GAP_S):
    """``(mean watts, joules)`` over one window, or ``(None, None)`` where power does not cover it."""
    i = integrate(points, t_start, t_end, max_gap_s)
    return (i.mean_w, i.energy_j) if i.energy_j is not None else (None, None)


def rail_resource(column: str):
    """``(resource, None)`` when the column is a power rail of one resource alone, else
    ``(None, reason)`` (see the module's rules)."""
    m = re.fullmatch(r"gpu(\d+)_power_w", column)
    if m:
        return f"cuda:{int(m.group(1))}", None
    m = re.fullmatch(r"power_(.+)_w", column)
    if not m or m.group(1).endswith("avg"):
        return None, f"{column} is not a power rail"
    tokens = set(m.group(1).split("_"))
    shared = tokens & {"soc", "cv"}
    if "gpu" in tokens and "cpu" not in tokens and not shared:
        return "cuda:0", None
    if "cpu" in tokens and "gpu" not in tokens and not shared:
        return "cpu", None
    if "gpu" in tokens or "cpu" in tokens:
        return None, f"rail {column} powers {'+'.join(sorted(tokens & {'cpu', 'gpu', 'soc', 'cv'}))} together"
    return None, f"rail {column} is not one resource's"


def resource_rails(columns) -> dict:
    """``{resource: column}`` of the per-resource rails among sample columns (first by name wins)."""
    out = {}
    for c in sorted(columns):
        r, _ = rail_resource(c)
        if r is not None:
            out.setdefault(r, c)
    return out


def _norm_resource(r: str) -> str:
    return "cuda:0" if r == "cuda" else r


def _round(v, n=6):
    return None if v is None else round(v, n)


def _jpi(energy, images):
    if energy is None:
        return None
    return energy / images if images > 0 else None


def energy_summary(samples: list, windows: list, since: float, until: float,
                   max_gap_s: float = MAX_GAP_S) -> dict:
    """Energy and J/inference of one run over ``[since, until]``.

    ``samples``: sample rows (dicts with ``t`` and metric columns). ``windows``: dicts
    with ``tenant``, ``group``, ``framework``, ``resource``, ``t_start``, ``t_end``,
    ``images``. Returns the board-level figures (``energy_j``, ``mean_power_w``,
    ``joules_per_inference``, ``coverage``, ``run_energy_j`` over every sample of the
    run), and ``resources``, ``placements``, ``tenants`` each with
    ``joules_per_inference`` (None with a ``reason`` where not measured).
    """
    inside = [w for w in windows if w["t_start"] >= since - EPS and w["t_end"] <= until + EPS]
    images = sum(int(w["images"]) for w in inside)
    columns = set()
    for s in samples:
        columns.update(k for k, v in s.items() if v is not None)
    board = series(samples, BOARD)
    out = {"span": [_round(since, 3), _round(until, 3)], "images": images, "source": None,
           "measured": False, "reason": None, "energy_j": None, "mean_power_w": None,
           "joules_per_inference": None, "coverage": None, "samples": 0, "run_energy_j": None,
           "run_span": None, "resources": {}, "placements": {}, "tenants": {}}
    if board:
        out["source"] = BOARD
        whole = integrate(board, board[0][0], board[-1][0], max_gap_s)
        if whole.measured_j is not None:
            out["run_energy_j"] = _round(whole.measured_j, 3)
            out["run_span"] = [_round(board[0][0], 3), _round(board[-1][0], 3)]
        i = integrate(board, since, until, max_gap_s)
        out.update(samples=i.samples, coverage=_round(i.coverage, 3))
        if i.energy_j is None:
            out["reason"] = f"power_w: {i.reason}"
        else:
            out.update(measured=True, energy_j=_round(i.energy_j, 3), mean_power_w=_round(i.mean_w, 3))
            out["joules_per_inference"] = _round(_jpi(i.energy_j, images))
            if images == 0:
                out["reason"] = "no image completed in the span"
    else:
        out["reason"] = NOT_MEASURED

    rails = resource_rails(columns)
    by_resource, by_placement, by_tenant = {}, {}, {}
    for w in inside:
        r = _norm_resource(w["resource"])
        p = f"{w['framework']}@{w['resource']}"
        by_resource[r] = by_resource.get(r, 0) + int(w["images"])
        by_placement.setdefault(p, [r, 0])[1] += int(w["images"])
        by_tenant.setdefault(w["tenant"], [r, p, 0])[2] += int(w["images"])
    for w in windows:  # placements and tenants with no window in the span are listed too
        r = _norm_resource(w["resource"])
        by_resource.setdefault(r, 0)
        by_placement.setdefault(f"{w['framework']}@{w['resource']}", [r, 0])
        by_tenant.setdefault(w["tenant"], [r, f"{w['framework']}@{w['resource']}", 0])

    res_energy = {}
    for r, n in by_resource.items():
        entry = {"rail": rails.get(r), "images": n, "energy_j": None, "mean_power_w": None,
                 "joules_per_inference": None, "reason": None}
        if r in rails:
            i = integrate(series(samples, rails[r]), since, until, max_gap_s)
            if i.energy_j is None:
                entry["reason"] = f"{rails[r]}: {i.reason}"
            else:
                res_energy[r] = i.energy_j
                entry.update(energy_j=_round(i.energy_j, 3), mean_power_w=_round(i.mean_w, 3),
                             joules_per_inference=_round(_jpi(i.energy_j, n)))
                if n == 0:
                    entry["reason"] = "no image completed in the span"
        else:
            entry["reason"] = (f"no power rail of {r} alone on this board: board-level only"
                               if board else NOT_MEASURED)
        out["resources"][r] = entry

    def share(r, n):
        e = res_energy.get(r)
        total = by_resource.get(r, 0)
        if e is None:
            return {"energy_j": None, "joules_per_inference": None, "reason": out["resources"][r]["reason"]}
        return {"energy_j": _round(e * n / total, 3) if total else None,
                "joules_per_inference": _round(_jpi(e, total)) if n else None,
                "rail": rails[r], "reason": None if n else "no image completed in the span"}

    for p, (r, n) in by_placement.items():
        out["placements"][p] = {"resource": r, "images": n, **share(r, n)}
    for tid, (r, p, n) in by_tenant.items():
        out["tenants"][tid] = {"placement": p, "images": n, **share(r, n)}
    return out


# -- readers of the run log ---------------------------------------------------------------
def load_samples(conn, run_id: int) -> list:
    cur = conn.execute("SELECT * FROM samples WHERE run = ? ORDER BY t", (run_id,))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def load_windows(conn, run_id: int) -> list:
    rows = conn.execute(
        "SELECT w.tenant, t.group_id, t.framework, t.resource, w.t_start, w.t_end, w.images, t.model, w.batch "
        "FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.t_start, w.tenant",
        (run_id,)).fetchall()
    return [{"tenant": r[0], "group": r[1], "framework": r[2], "resource": r[3], "t_start": r[4],
             "t_end": r[5], "images": r[6], "model": r[7], "batch": r[8]} for r in rows]


def measured_span(conn, run_id: int, windows: list = None):
    """The run's measured phase (``params.measured`` written by ``edgemt run``), else the
    span of its windows, else None."""
    row = conn.execute("SELECT params FROM runs WHERE id = ?", (run_id,)).fetchone()
    try:
        m = (json.loads(row[0] or "{}") or {}).get("measured") if row else None
    except (TypeError, ValueError):
        m = None
    if isinstance(m, dict) and m.get("since") is not None and m.get("until") is not None:
        return float(m["since"]), float(m["until"])
    windows = load_windows(conn, run_id) if windows is None else windows
    if not windows:
        return None
    return min(w["t_start"] for w in windows), max(w["t_end"] for w in windows)


def run_energy(conn, run_id: int, since: float = None, until: float = None) -> dict:
    """``energy_summary`` of a run in the DB over ``[since, until]`` (default: its measured
    phase, else the span of its windows). The call for the UI and ``edgemt report``."""
    windows = load_windows(conn, run_id)
    if since is None or until is None:
        span = measured_span(conn, run_id, windows)
        if span is None:
            span = (0.0, 0.0)
        since = span[0] if since is None else since
        until = span[1] if until is None else until
    return energy_summary(load_samples(conn, run_id), windows, since, until)


def run_power_points(conn, run_id: int, column: str = BOARD) -> list:
    """``[(t, watts)]`` of one run's column, or [] when the column does not exist."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(samples)")}
    if column not in cols:
        return []
    rows = conn.execute(f'SELECT t, "{column}" FROM samples WHERE run = ? AND "{column}" IS NOT NULL ORDER BY t',
                        (run_id,)).fetchall()
    return [(float(t), float(w)) for t, w in rows]
