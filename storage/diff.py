"""What differed between two runs: fingerprint, parameters, state at start, and results.

Pure functions over plain dicts (``flatten``, ``diff_dicts``, ``results_of``,
``diff_runs``) plus ``load_run`` to read one run from the log. Used by ``edgemt diff``
(tui/diff_cli.py).

- **Fingerprint** (``runs.host``): flattened to dotted keys (``l4t.release``,
  ``frameworks.torch.framework_version``, ``collectors.jetson.available``); keys only in
  B are ``added``, only in A ``removed``, in both with different values ``changed``.
  ``state_at_start.*`` (power, thermal, clocks at start) is reported apart as ``state``,
  since it differs between any two runs.
- **Parameters** (``runs.params``): the same way.
- **Results**: throughput over each run's measured phase (``params.measured``, else all
  its windows): the total, each placement and each group (equation (1): images while all
  its tenants ran / that interval; None, not 0, where they never all ran together),
  J/inference where power was measured, the run *segment by segment* (a segment = a span
  of consecutive window slots in which the same tenants at the same batches reported,
  ``storage.aggregate.segments``; segments of A and B are matched by what ran in them,
  the k-th segment of a composition in A with the k-th of the same in B), and the
  experiments *level by level* (the numeric fields of ``results`` rows matched on
  experiment and key). Each row has A, B and ``ratio`` = B / A (None where A is 0 or
  either is missing).
"""
from __future__ import annotations

import json

from storage.aggregate import Window, common_span, level_throughput, segments
from storage import energy

EPS = 1e-3
SPAN_FIELDS = ("since", "until", "resumed_from")


def flatten(obj, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and scalars are leaves; an empty dict is a leaf."""
    if isinstance(obj, dict) and obj:
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj} if prefix else {}


def diff_dicts(a: dict, b: dict) -> dict:
    """``{"added": {k: b}, "removed": {k: a}, "changed": {k: [a, b]}, "same": n}`` over flattened keys."""
    fa, fb = flatten(a or {}), flatten(b or {})
    return {
        "added": {k: fb[k] for k in sorted(fb.keys() - fa.keys())},
        "removed": {k: fa[k] for k in sorted(fa.keys() - fb.keys())},
        "changed": {k: [fa[k], fb[k]] for k in sorted(fa.keys() & fb.keys()) if fa[k] != fb[k]},
        "same": sum(1 for k in fa.keys() & fb.keys() if fa[k] == fb[k]),
    }


def _split_state(host: dict):
    host = dict(host or {})
    return host, host.pop("state_at_start", {}) or {}


def results_of(windows: list, span, energy_summary: dict = None, result_rows: list = None) -> dict:
    """Throughput of a run over ``span``: ``total``, ``placements``, ``groups``, with the
    J/inference of ``energy_summary`` beside them, and the numeric fields of result rows.

    ``windows``: dicts as ``storage.energy.load_windows`` gives (tenant, group, framework,
    resource, t_start, t_end, images)."""
    since, until = span if span else (None, None)
    inside = [w for w in windows if span is None or (w["t_start"] >= since - EPS and w["t_end"] <= until + EPS)]

    def level(ws):
        per = {}
        for w in ws:
            per.setdefault(w["tenant"], []).append(Window(w["t_start"], w["t_end"], int(w["images"])))
        if not per or common_span(per) is None:
            return None  # its tenants never all ran together: no eq. (1) figure (not 0.0)
        return round(level_throughput(per), 3)

    placements, groups = {}, {}
    for w in inside:
        placements.setdefault(f"{w['framework']}@{w['resource']}", []).append(w)
        groups.setdefault(f"g{w['group']}", []).append(w)
    e = energy_summary or {}
    out = {
        "span": None if span is None else [round(since, 3), round(until, 3)],
        "total": level(inside),
        "images": sum(int(w["images"]) for w in inside),
        "placements": {p: level(ws) for p, ws in sorted(placements.items())},
        "groups": {g: level(ws) for g, ws in sorted(groups.items(), key=lambda kv: int(kv[0][1:]))},
        "group_placements": {g: sorted({f"{w['framework']}@{w['resource']}" for w in ws}) for g, ws in groups.items()},
        "joules_per_inference": e.get("joules_per_inference"),
        "energy_j": e.get("energy_j"),
        "placement_joules_per_inference": {p: (e.get("placements") or {}).get(p, {}).get("joules_per_inference")
                                           for p in placements},
        "energy_reason": e.get("reason"),
        "segments": _segments(inside),
        "results": {},
    }
    for r in result_rows or []:
        try:
            value = json.loads(r["value"]) if isinstance(r["value"], str) else r["value"]
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        key = f"{r['experiment']} {r['key']}"
        for k, v in value.items():
            if k in SPAN_FIELDS:  # where on each run's clock: differs between any two runs
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out["results"][f"{key} {k}"] = v
    return out


def _segments(windows) -> list:
    """The run's segments (``storage.aggregate.segments``) with ``key``: the composition and
    its occurrence (``2x g1 torch@cpu mobilenet_v2 b1 #2``), what matches A to B."""
    rows = [dict(w, label=f"g{w['group']} {w['framework']}@{w['resource']}" + (f" {w['model']}" if w.get("model")
                                                                               else "")) for w in windows]
    out, seen = [], {}
    for seg in segments(rows):
        seen[seg["label"]] = seen.get(seg["label"], 0) + 1
        n = seen[seg["label"]]
        seg["key"] = seg["label"] + (f" #{n}" if n > 1 else "")
        seg["seconds"] = round(seg["until"] - seg["since"], 3)
        out.append(seg)
    return out


def _ratio(a, b):
    if a is None or b is None or not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a == 0:
        return None
    return round(b / a, 4)


def compare_results(ra: dict, rb: dict) -> list:
    """Rows ``{what, a, b, ratio}``: total, each placement, each group, each segment (when a
    run has more than one), J/inference, result fields (level by level)."""
    rows = [{"what": "total img/s", "a": ra.get("total"), "b": rb.get("total")}]
    for kind, label in (("placements", "placement {} img/s"), ("groups", "group {} img/s")):
        for k in sorted(set(ra.get(kind) or {}) | set(rb.get(kind) or {}),
                        key=lambda s: (len(s), s) if kind == "groups" else s):
            rows.append({"what": label.format(k), "a": (ra.get(kind) or {}).get(k), "b": (rb.get(kind) or {}).get(k)})
    sa = {s["key"]: s for s in ra.get("segments") or []}
    sb = {s["key"]: s for s in rb.get("segments") or []}
    if len(sa) > 1 or len(sb) > 1 or set(sa) != set(sb):  # one segment each is the total already
        order = list(sa) + [k for k in sb if k not in sa]
        for k in order:
            rows.append({"what": f"segment {k} img/s", "a": (sa.get(k) or {}).get("throughput"),
                         "b": (sb.get(k) or {}).get("throughput")})
    rows.append({"what": "total J/img", "a": ra.get("joules_per_inference"), "b": rb.get("joules_per_inference")})
    pa, pb = ra.get("placement_joules_per_inference") or {}, rb.get("placement_joules_per_inference") or {}
    for p in sorted(set(pa) | set(pb)):
        if pa.get(p) is not None or pb.get(p) is not None:
            rows.append({"what": f"placement {p} J/img", "a": pa.get(p), "b": pb.get(p)})
    xa, xb = ra.get("results") or {}, rb.get("results") or {}
    for k in sorted(set(xa) | set(xb)):
        rows.append({"what": k, "a": xa.get(k), "b": xb.get(k)})
    for r in rows:
        r["ratio"] = _ratio(r["a"], r["b"])
    return rows


def diff_runs(a: dict, b: dict) -> dict:
    """``a``, ``b``: runs as ``load_run`` gives them. The whole comparison, JSON-ready."""
    ha, sa = _split_state(a.get("host"))
    hb, sb = _split_state(b.get("host"))
    pa = {k: v for k, v in (a.get("params") or {}).items() if k != "measured"}
    pb = {k: v for k, v in (b.get("params") or {}).items() if k != "measured"}
    groups = {}
    for side, r in (("a", a), ("b", b)):
        for g, ps in ((r.get("results") or {}).get("group_placements") or {}).items():
            groups.setdefault(g, {})[side] = ps
    return {
        "runs": [{k: r.get(k) for k in ("id", "kind", "started", "status")} for r in (a, b)],
        "fingerprint": diff_dicts(ha, hb),
        "state_at_start": diff_dicts(sa, sb),
        "params": diff_dicts(pa, pb),
        "results": compare_results(a.get("results") or {}, b.get("results") or {}),
        "groups": groups,
        "energy_reason": [(a.get("results") or {}).get("energy_reason"), (b.get("results") or {}).get("energy_reason")],
    }


def load_run(conn, run_id: int) -> dict:
    """One run from the log: its row, fingerprint, params and results (``results_of``)."""
    from storage.errors import BadInput

    cur = conn.execute("SELECT id, kind, started, ended, status, host, params FROM runs WHERE id = ?", (run_id,))
    row = cur.fetchone()
    if row is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]
        raise BadInput(f"run {run_id} is not in the DB; runs: {', '.join(map(str, ids[-10:])) or 'none'}")
    names = [d[0] for d in cur.description]
    run = dict(zip(names, row))
    for k in ("host", "params"):
        try:
            run[k] = json.loads(run[k] or "{}") or {}
        except ValueError:
            run[k] = {}
    windows = energy.load_windows(conn, run_id)
    span = energy.measured_span(conn, run_id, windows)
    e = energy.energy_summary(energy.load_samples(conn, run_id), windows, *span) if span else None
    rows = [dict(zip(("experiment", "key", "value"), r)) for r in
            conn.execute("SELECT experiment, key, value FROM results WHERE run = ? ORDER BY id", (run_id,))]
    run["results"] = results_of(windows, span, e, rows)
    return run
