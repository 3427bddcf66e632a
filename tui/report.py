"""``edgemt report``: a run's results as rich tables, and matplotlib plots with ``--plot``.

``load`` reads one run from the DB into plain data (also what the UI draws from);
``print_data`` prints it; ``plot`` writes one figure (PNG or SVG) with a panel for each
kind of result the run holds: throughput against concurrency (a line per batch size),
against batch size, DMP ideal against achieved, correlation bars, throughput and
utilisation over time, and joules per inference where power was sampled.
matplotlib is imported only inside ``plot``.
"""
import json
from pathlib import Path

from runners.errors import BadInput


def load(conn, run_id: int) -> dict:
    from storage.analysis import correlate, slot_points

    from storage import reads

    run = reads.run(conn, run_id)
    results = reads.results(conn, run_id)
    points = slot_points(conn, run_id)
    return {
        "run": {k: (json.loads(v) if k in ("host", "params") and v else v) for k, v in run.items()},
        "results": results,
        "summaries": [r for r in results if r["key"].get("kind") == "summary"],
        "levels": [r for r in results if r["key"].get("kind") != "summary"],
        "correlations": correlate(conn, [run_id]),
        "timeline": [{k: p.get(k) for k in ("t_start", "t_end", "throughput", "concurrency", "batch",
                                           "cpu_percent", "mem_percent", "power_w")} for p in points],
    }


def print_run(db, run_id: int):
    from storage import schema

    conn = schema.connect(db, readonly=True)
    try:
        print_data(load(conn, run_id), correlations=False)
    finally:
        conn.close()


def _console():
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def _res(r, name, fmt="{:.1f}"):
    return _f((r.get("resources") or {}).get(name), fmt)


def print_data(data: dict, correlations: bool = True):
    from rich.table import Table

    console = _console()
    run = data["run"]
    host = run.get("host") or {}
    console.print(f"[bold]run {run['id']}[/] {run['kind']} {run['status']} started {run['started']} "
                  f"on {host.get('hostname', '?')}")
    by_exp = {}
    for r in data["levels"]:
        by_exp.setdefault(r["experiment"], []).append(r)
    for exp, rows in by_exp.items():
        if exp in ("sweep-concurrency", "sweep-batch", "tune"):
            t = Table(title=exp)
            # img/s: the level's figure (its steady windows where the steady-state rule ended it);
            # ramp: the windows before them, shown apart
            for c in ("model", "placement", "conc.", "batch", "iso", "ok", "img/s", "std", "ramp", "p99 ms", "cpu %",
                      "mem %", "J/inf", "throttled", "note"):
                t.add_column(c, justify="right" if c in ("conc.", "batch", "img/s", "std", "ramp", "p99 ms", "cpu %",
                                                         "mem %", "J/inf") else "left")
            for r in rows:
                k, v = r["key"], r["value"]
                note = v.get("reason") or ("warm" if v.get("warm_start") else "")
                if v.get("oversubscription"):
                    note = (note + " " + v["oversubscription"]).strip()
                if v.get("resumed_from"):
                    note = (note + f" from run {v['resumed_from']}").strip()
                asked = k.get("batch", v.get("batch", ""))
                ran = v.get("batch_run")
                # the batch that ran is the figure's batch: a clamped level shows both
                batch = f"{asked} (ran {ran})" if ran is not None and str(ran) != str(asked) else str(asked)
                t.add_row(k.get("model", ""), k.get("placement", ""),
                          str(k.get("concurrency", v.get("concurrency", ""))), batch,
                          str(k.get("isolation", v.get("isolation", ""))), "yes" if v.get("ok") else "FAILED",
                          _f(v.get("throughput")), _f(v.get("std")), _f(v.get("ramp_throughput")),
                          _f(v.get("p99_ms"), "{:.1f}"),
                          _res(v, "cpu_percent"), _res(v, "mem_percent"), _f(v.get("joules_per_inference"), "{:.4f}"),
                          "yes" if v.get("throttled") else "", note[:60])
            console.print(t)
        elif exp == "capacity":
            from tui.capacity_report import print_levels

            print_levels(console, rows)
        elif exp == "dmp":
            t = Table(title="dmp measurements")
            for c in ("what", "level(s)", "ok", "img/s", "cpu %", "mem %", "note"):
                t.add_column(c)
            for r in rows:
                k, v = r["key"], r["value"]
                what = k.get("part") if k.get("kind") == "alone" else "together"
                lvl = str(k.get("concurrency")) if k.get("kind") == "alone" else json.dumps(k.get("parts"))
                t.add_row(what, lvl, "yes" if v.get("ok") else "FAILED", _f(v.get("throughput")),
                          _res(v, "cpu_percent"), _res(v, "mem_percent"), (v.get("reason") or "")[:60])
            console.print(t)
    for s in data["summaries"]:
        _print_summary(console, s["experiment"], s["value"])
        if s["value"].get("advice"):  # why tenants may have slowed each other down
            console.print(s["value"]["advice"], markup=False)
    if correlations and data["correlations"]:
        print_correlations(data["correlations"], [run["id"]], console)


def _print_summary(console, exp, v):
    if exp == "capacity":
        from tui.capacity_report import summary_line

        console.print(summary_line(v), markup=False)
    elif exp == "mlperf":
        from tui.mlperf_report import lines

        for line in lines(v):
            console.print(line, markup=False)
    elif exp == "sweep-concurrency":
        console.print(f"[bold]concurrency sweep[/] {v['model']} {v['placement']} batch {v['batch']} ({v['strategy']}, "
                      f"{'warm' if v['warm_start'] else 'fresh'} tenants): max level {v['max_level']}"
                      + (f" (level {v['first_failed_level']} failed: {v['failed_reason']})" if v.get('first_failed_level') else "")
                      + f", best level {v['best_level']} at {_f(v['best_throughput'])} img/s, "
                      f"gain over single tenancy {_f(v['gain'])}x, {v['levels_measured']} levels measured, "
                      f"ended by: {v['ended_by']}")
    elif exp == "sweep-batch":
        console.print(f"[bold]batch sweep[/] {v['model']} {v['placement']} count {v['count']}: largest runnable batch "
                      f"{v['largest_runnable_batch']}"
                      + (f" (batch {v['failed_batch']} failed: {v['failed_reason']})" if v.get('failed_batch') else "")
                      + f", best batch {v['best_batch']} at {_f(v['best_throughput'])} img/s; ended by: {v['ended_by']}")
    elif exp == "dmp":
        from rich.table import Table

        t = Table(title="DMP: alone vs together")
        for c in ("placement", "level", "alone img/s", "together img/s", "together/alone", "cpu % alone"):
            t.add_column(c)
        for n, p in v["parts"].items():
            t.add_row(n, "-" if p["level"] is None else str(p["level"]), _f(p["alone"]), _f(p["together"]), _f(p["share_of_alone"]),
                      _res({"resources": p.get("resources_alone")}, "cpu_percent"))
        console.print(t)
        if v.get("missing"):  # an ideal from part of the placements would be a wrong number
            console.print("[bold]DMP incomplete[/]: no ideal and no gap; missing alone: "
                          + "; ".join(f"{n} ({why})" for n, why in v["missing"].items())
                          + f"; ended by: {v['ended_by']}", markup=True)
        else:
            console.print(f"[bold]DMP[/] ideal {_f(v['ideal'])} img/s (sum alone), achieved {_f(v['achieved'])} img/s, "
                          f"gap {_f(v['gap_percent'])} %; cpu % together "
                          f"{_res({'resources': v.get('resources_together')}, 'cpu_percent')}; ended by: {v['ended_by']}")
        if v.get("objective") == "slo":
            console.print(f"[bold]DMP streams within SLO[/]: ideal {v.get('streams_ideal')} (sum alone), achieved "
                          f"{v.get('streams_achieved')} together; "
                          + "; ".join(f"{n}: {p.get('streams_alone')} alone, "
                                      + ("SLO met together" if (p.get("slo_together") or {}).get("slo_met")
                                         else "SLO missed together" if p.get("slo_together") else "not together")
                                      for n, p in v["parts"].items()))
    elif exp == "tune":
        console.print(f"[bold]tune[/] {v['model']} {v['placement']} ({v['objective']}"
                      + (f", p99 <= {v['p99_limit_ms']} ms" if v.get('p99_limit_ms') else "")
                      + f"): best {v['best']} at {_f(v['best_throughput'])} img/s (p99 {_f(v['best_p99_ms'], '{:.1f}')} ms); "
                      f"measured {v['measured']} of a grid of {v['grid_size']} ({v['strategy']}); ended by: {v['ended_by']}")
        if v.get("objective") == "slo":
            console.print(f"[bold]tune streams within SLO[/] ({v['rate']:g}/s each, p{v['slo']['percentile']:g} <= "
                          f"{v['slo']['ms']:g} ms): best {v.get('best_streams')} streams, goodput "
                          f"{_f(v.get('best_goodput_qps'))}/s")


def print_correlations(rows, runs, console=None):
    from rich.table import Table

    console = console or _console()
    t = Table(title=f"Pearson r with throughput, runs {', '.join(map(str, runs))}")
    for c in ("series", "r", "n", "note"):
        t.add_column(c, justify="right" if c in ("r", "n") else "left")
    for r in rows:
        t.add_row(r["series"], "-" if r["r"] is None else f"{r['r']:+.3f}", str(r["n"]), r["note"] or "")
    console.print(t)


def print_boards(data: dict, console=None):
    """The boards of a fleet side by side (runners/fleet/compare.py: the figures' definitions)."""
    from rich.table import Table

    console = console or _console()
    t = Table(title=f"fleet {data['fleet']}: one row per board (each over its run's measured phase)")
    cols = ("board", "model", "host", "run", "kind", "status", "tenants", "s", "img/s", "p50 ms", "p99 ms", "cpu %",
            "mem %", "mem MB", "power W", "J/img")
    for c in cols:
        t.add_column(c, justify="left" if c in ("board", "model", "host", "kind", "status") else "right")
    for b in data["boards"]:
        lat = b["latency_ms"]
        t.add_row(b["board"], b["model"] or "-", b["hostname"] or "-", str(b["run"]), b["kind"], b["status"],
                  str(b["tenants"]), _f(b["measured_s"], "{:.1f}"), _f(b["total_throughput"]),
                  _f(lat["p50"], "{:.1f}"), _f(lat["p99"], "{:.1f}"), _f(b["cpu_percent"], "{:.1f}"),
                  _f(b["mem_percent"], "{:.1f}"), _f(b["mem_used_mb"], "{:.0f}"), _f(b["power_w"], "{:.2f}"),
                  _f(b["joules_per_inference"], "{:.4f}"))
    console.print(t)
    reasons = sorted({b["energy_reason"] for b in data["boards"] if b["joules_per_inference"] is None
                      and b["energy_reason"]})
    for why in reasons:  # a column of dashes says nothing: why, once
        console.print(f"J/img n/a: {why}", markup=False)


def print_board_correlations(data: dict, console=None):
    """Pearson r with throughput per board and over every board's window slots together."""
    from rich.table import Table

    console = console or _console()
    t = Table(title=f"fleet {data['fleet']}: Pearson r with throughput, per board and all boards (runs "
                    f"{', '.join(map(str, data['runs']))})")
    t.add_column("series")
    boards = [(b["board"], {r["series"]: r for r in b["rows"]}) for b in data["boards"]]
    for name, _rows in boards:
        t.add_column(name, justify="right")
    t.add_column("all boards", justify="right")
    t.add_column("n all", justify="right")

    def cell(r):
        return "-" if r is None or r["r"] is None else f"{r['r']:+.3f}"

    for r in data["rows"]:
        t.add_row(r["series"], *[cell(rows.get(r["series"])) for _n, rows in boards], cell(r), str(r["n"]))
    console.print(t)


def check_plot_path(path: str):
    p = Path(path)
    if p.suffix.lower() not in (".png", ".svg"):
        raise BadInput(f"--plot {path!r}: give a .png or .svg file name")
    if p.is_dir() or not (p.parent if str(p.parent) else Path(".")).is_dir():
        raise BadInput(f"--plot {path!r}: the folder does not exist, or it is a folder")


def _series(levels, experiment, x_key, group_keys):
    lines = {}
    for r in levels:
        if r["experiment"] != experiment or not r["value"].get("ok"):
            continue
        k, v = r["key"], r["value"]
        x = k.get(x_key, v.get(x_key))
        if x is None:
            continue
        label = " ".join(f"{g}={k.get(g, v.get(g))}" for g in group_keys)
        lines.setdefault(label, {})[x] = v
    return lines


def plot(data: dict, path: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = data["levels"]
    panels = []
    conc = _series(levels, "sweep-concurrency", "concurrency", ("model", "batch"))
    for label, pts in _series(levels, "tune", "concurrency", ("batch", "isolation")).items():
        conc["tune " + label] = pts
    if conc:
        panels.append(("conc", conc))
    batch = _series(levels, "sweep-batch", "batch", ("model", "count"))
    if batch:
        panels.append(("batch", batch))
    dmp = [s["value"] for s in data["summaries"] if s["experiment"] == "dmp"]
    if dmp:
        panels.append(("dmp", dmp[-1]))
    corr = [r for r in data["correlations"] if r["r"] is not None]
    if corr:
        panels.append(("corr", corr))
    if data["timeline"]:
        panels.append(("time", data["timeline"]))
    joules = {lbl: pts for lbl, pts in {**conc, **batch}.items()
              if any(v.get("joules_per_inference") for v in pts.values())}
    if joules:
        panels.append(("joules", joules))
    if not panels:
        raise BadInput(f"run {data['run']['id']} has nothing to plot (no windows and no results)")
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, (kind, d) in zip(axes[:, 0], panels):
        if kind in ("conc", "batch", "joules"):
            xk = "concurrency level" if kind == "conc" else "batch size"
            for label, pts in sorted(d.items()):
                xs = sorted(pts)
                if kind == "joules":
                    ax.plot(xs, [pts[x].get("joules_per_inference") for x in xs], marker="o", label=label)
                else:
                    ax.errorbar(xs, [pts[x]["throughput"] for x in xs], yerr=[pts[x].get("std") or 0 for x in xs],
                                marker="o", capsize=3, label=label)
            ax.set_xlabel(xk if kind != "joules" else "concurrency level / batch size")
            ax.set_ylabel("J / inference" if kind == "joules" else "throughput (img/s)")
            if kind == "batch":
                ax.set_xscale("log", base=2)
            ax.legend(fontsize=7)
            ax.set_title({"conc": "throughput vs concurrency", "batch": "throughput vs batch size",
                          "joules": "energy per inference"}[kind])
        elif kind == "dmp":
            names = list(d["parts"])
            alone = [d["parts"][n]["alone"] or 0 for n in names]
            together = [d["parts"][n]["together"] or 0 for n in names]
            x = range(len(names) + 1)
            ax.bar([i - 0.2 for i in x], alone + [d["ideal"] or 0], width=0.4, label="alone / ideal")
            ax.bar([i + 0.2 for i in x], together + [d["achieved"] or 0], width=0.4, label="together / achieved")
            ax.set_xticks(list(x))
            ax.set_xticklabels(names + ["total"], fontsize=7)
            ax.set_ylabel("throughput (img/s)")
            ax.set_title(f"DMP incomplete: missing {', '.join(d['missing'])}" if d.get("missing") else
                         f"DMP: ideal {d['ideal']} vs achieved {d['achieved']} (gap {d['gap_percent']} %)")
            ax.legend(fontsize=7)
        elif kind == "corr":
            ax.barh([r["series"] for r in d][::-1], [r["r"] for r in d][::-1])
            ax.set_xlim(-1, 1)
            ax.set_xlabel("Pearson r with throughput")
            ax.set_title("correlations")
            ax.tick_params(axis="y", labelsize=7)
        elif kind == "time":
            t = [p["t_start"] for p in d]
            ax.plot(t, [p["throughput"] for p in d], color="C0", label="throughput")
            ax.set_xlabel("seconds since run start")
            ax.set_ylabel("throughput (img/s)", color="C0")
            ax2 = ax.twinx()
            for name, col in (("cpu_percent", "C1"), ("mem_percent", "C2")):
                if any(p.get(name) is not None for p in d):
                    ax2.plot(t, [p.get(name) for p in d], color=col, label=name, alpha=0.7)
            ax2.set_ylabel("utilisation %")
            ax2.legend(fontsize=7, loc="upper right")
            ax.set_title("throughput and utilisation over time")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
