"""Boards side by side (the study's Table II): one row per board of a fleet DB.

A board's row is its fleet run (``params.fleet.board``) measured as a level is
(docs/experiments.md, Definitions), over the run's measured phase (``params.measured``
written by ``edgemt run``; else the span of its windows, as ``storage.energy.measured_span``):

- ``total_throughput``: the images of every tenant's whole windows inside the span / the
  span's length (equation (1): what the board's own ``edgemt run`` reported as
  ``total_throughput``);
- ``latency_ms`` p50 and p99: the percentiles of the batch latencies of those windows, every
  tenant's histogram merged (as a level's ``p50_ms``/``p99_ms``);
- ``cpu_percent``, ``mem_percent``, ``mem_used_mb``: the time-weighted means of the samples
  over the span (the resources of a level);
- ``power_w``, ``joules_per_inference``: the energy of the span (storage/energy.py), None
  with ``energy_reason`` where power was not measured.

``correlations`` gives ``storage.analysis.correlate`` per board (its run's window slots)
and over every board's slots together. No Ray: these read a fleet DB only.
"""
import json

from runners.child import latency
from storage import aggregate, energy, reads
from storage.analysis import correlate
from storage.fleet_db import fleet_runs


def _ms(seconds):
    return None if seconds is None or seconds == float("inf") else round(seconds * 1000.0, 3)


def _round(v, n=3):
    return None if v is None else round(v, n)


def board_row(conn, run: dict) -> dict:
    """One board's figures (see the module's docstring); ``run``: a row of ``fleet_runs``."""
    run_id = run["run"]
    fleet = run["params"].get("fleet") or {}
    host = run["host"]
    windows = energy.load_windows(conn, run_id)
    span = energy.measured_span(conn, run_id, windows)
    row = {
        "board": run["board"], "model": host.get("board_model") or host.get("cpu_model"),
        "hostname": host.get("hostname"), "run": run_id, "board_run": fleet.get("run"), "kind": run["kind"],
        "status": run["status"], "tenants": len(reads.tenants(conn, run_id)), "span": None, "measured_s": None,
        "images": 0, "total_throughput": None, "latency_ms": {"p50": None, "p99": None},
        "cpu_percent": None, "mem_percent": None, "mem_used_mb": None, "power_w": None,
        "joules_per_inference": None, "energy_reason": None, "clock_offset_s": fleet.get("clock_offset_s"),
    }
    if span is None or span[1] - span[0] <= 1e-9:
        row["energy_reason"] = "no window measured"
        return row
    since, until = span
    per, hist = {}, {}
    for w in reads.windows(conn, run_id):
        per.setdefault(w["tenant"], []).append(aggregate.Window(w["t_start"], w["t_end"], int(w["images"]),
                                                                int(w["batches"] or 0)))
        if w["t_start"] >= since - aggregate.EPS and w["t_end"] <= until + aggregate.EPS:
            latency.merge(hist, _hist(w["hist"]))
    images = sum(w.images for ws in per.values() for w in aggregate.in_span(ws, since, until))
    means = aggregate.sample_means(reads.samples_around(conn, run_id, since, until), since, until)["means"]
    e = energy.energy_summary(energy.load_samples(conn, run_id), windows, since, until)
    row.update({
        "span": [round(since, 3), round(until, 3)], "measured_s": round(until - since, 3), "images": images,
        "total_throughput": round(images / (until - since), 3),
        "latency_ms": {"p50": _ms(latency.percentile(hist, 50)), "p99": _ms(latency.percentile(hist, 99))},
        "cpu_percent": _round(means.get("cpu_percent"), 2), "mem_percent": _round(means.get("mem_percent"), 2),
        "mem_used_mb": _round(means.get("mem_used_mb"), 1), "power_w": e["mean_power_w"],
        "joules_per_inference": e["joules_per_inference"], "energy_reason": e["reason"],
    })
    return row


def _hist(text) -> dict:
    try:
        return json.loads(text or "{}") or {}
    except ValueError:
        return {}


def boards(conn, fleet_id: str = None) -> dict:
    """{"fleet": id, "plan": file, "boards": [board_row, ...]} of one fleet (default: the latest)."""
    runs = fleet_runs(conn, fleet_id)
    return {"fleet": runs[0]["fleet"], "plan": (runs[0]["params"].get("fleet") or {}).get("plan"),
            "boards": [board_row(conn, r) for r in runs]}


def correlations(conn, fleet_id: str = None) -> dict:
    """{"fleet", "runs", "rows" (every board's slots together), "boards": [{board, run, rows}]}."""
    runs = fleet_runs(conn, fleet_id)
    ids = [r["run"] for r in runs]
    return {"fleet": runs[0]["fleet"], "runs": ids, "rows": correlate(conn, ids),
            "boards": [{"board": r["board"], "run": r["run"], "rows": correlate(conn, [r["run"]])} for r in runs]}
