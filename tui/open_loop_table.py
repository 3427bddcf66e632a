"""The open-loop lines under ``edgemt run``'s summary: for each open-loop tenant its
queries (scheduled, completed, dropped, waiting), start lag and latency from the scheduled
arrival, and its SLO (attainment, goodput, met). The figures come from runners/open_loop.py,
as ``--json`` holds them (docs/experiments.md, "Open loop"). Lines, not a table: a table
of this many columns is unreadable at 80 columns."""


def _f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


def open_loop_line(s: dict) -> str:
    """One tenant's line (``s``: its entry in the --json ``tenants``)."""
    q = s["open_loop"]
    lag, lat = q["lag_ms"], q["latency_ms"]
    line = (f"tenant {s['id']} open loop ({q['arrival']}, {q['rate']:g}/s offered): {q['completed']} of "
            f"{q['scheduled']} scheduled done ({_f(q['completed_qps'], '{:.2f}')}/s), {q['dropped']} dropped, "
            f"{_f(q['queue'], '{}')} waiting; start lag mean {_f(lag['mean'], '{:.2f}')} ms, max "
            f"{_f(lag['max'], '{:.2f}')} ms; latency from arrival p50 {_f(lat['p50'])} ms, p99 {_f(lat['p99'])} ms")
    slo = q["slo"]
    if slo:
        verdict = {True: "met", False: "MISSED", None: "nothing ended"}[slo["met"]]
        line += (f"; SLO p{slo['percentile']:g} <= {slo['ms']:g} ms: {_f(slo['attainment'], '{:.1%}')} within, "
                 f"goodput {_f(slo['goodput_qps'], '{:.2f}')}/s: {verdict}")
    return line


def print_open_loop(console, out) -> None:
    """Prints a line per open-loop tenant of ``out`` (the run's --json object)."""
    for s in out["tenants"]:
        if s.get("open_loop"):
            console.print(open_loop_line(s), markup=False)
