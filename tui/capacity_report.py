"""The tables of a capacity search (``edgemt capacity``, ``edgemt report`` of its run): one
row per measured level, then the answer (runners/experiments/capacity.py)."""


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def print_levels(console, rows) -> None:
    from rich.table import Table

    t = Table(title="capacity")
    for c in ("rate/s", "streams", "SLO", "offered/s", "done/s", "dropped", "p99 ms", "attain", "goodput/s", "note"):
        t.add_column(c, justify="left" if c in ("SLO", "note") else "right")
    for r in sorted(rows, key=lambda r: (r["key"].get("streams") or 0, r["key"].get("rate") or 0)):
        v = r["value"]
        fig = v.get("open_loop") or {}
        slo = fig.get("slo") or {}
        lat = fig.get("latency_ms") or {}
        note = "" if v.get("ok") else (v.get("reason") or "failed")
        if v.get("resumed_from"):
            note = (note + f" from run {v['resumed_from']}").strip()
        t.add_row(_f(v.get("rate"), "{:g}"), str(v.get("streams", "")),
                  "met" if v.get("ok") else "MISSED" if v.get("slo_met") is False else "failed",
                  _f(fig.get("offered_qps")), _f(fig.get("completed_qps")), _f(fig.get("dropped"), "{}"),
                  _f(lat.get("p99"), "{:.1f}"), _f(slo.get("attainment"), "{:.1%}"), _f(slo.get("goodput_qps")),
                  note[:100])
    console.print(t)


def summary_line(v: dict) -> str:
    slo = v["slo"]
    what = f"p{slo['percentile']:g} <= {slo['ms']:g} ms"
    if v["mode"] == "rate":
        answer = (f"largest rate {v['max_rate']:g}/s (step {v['step']:g}/s)" if v.get("max_rate") is not None
                  else f"no rate down to {v['step']:g}/s meets it")
        failed = f"; {v['first_failed_rate']:g}/s missed" if v.get("first_failed_rate") is not None else ""
    else:
        answer = f"most streams at {v['fps']:g}/s: {v['max_streams']}"
        failed = f"; {v['first_failed_streams']} missed" if v.get("first_failed_streams") is not None else ""
    return (f"capacity {v['model']} {v['placement']} batch {v['batch']} ({v['arrival']} arrivals), SLO {what}: "
            f"{answer}{failed}; {v['levels_measured']} levels measured, ended by: {v['ended_by']}")
