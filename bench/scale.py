"""Scale benchmark (prints figures; not a test): N thread tenants of a tiny TFLite model on
one controller, for N in --tenants (default 100, 500, 1000, 2000).

This process *is* the controller (tui.session.Session: Store, sampler, Supervisor), as in
``edgemt run``. For each N it reports

- load: seconds from ``add_group`` until every tenant is warm (and how the controller's
  part, sending the starts, compares);
- throughput (eq. 1 over ``--seconds`` after a 2 s settle) and per tenant;
- controller CPU-s per wall-s (this process only) and RSS; runner CPU-s per wall-s, and
  the GIL's share: a runner process of thread tenants can use at most one core for its
  Python code (the GIL), so ``runner CPU / procs`` near 1.0 while cores are idle means the
  GIL is the limit (``--procs K`` spreads the tenants over K runner processes:
  ``procs=K`` on a SPEC);
- stop: seconds to stop them all, every tenant's final state, the stop grace, the exit
  status ``edgemt run`` would give (0 = every tenant stopped);
- DB bytes per tenant-hour (windows, at one window a second a tenant).

The tiny model (average pool + dense, ~3 KB) is made by bench/tiny_model.py. The machine
is shared: run the 2,000 case rarely. Figures go to docs/benchmarks.md ("Scale").

  .venv/bin/python bench/scale.py --tenants 100,500 --seconds 15
  .venv/bin/python bench/scale.py --tenants 2000 --procs 2 --json out.json
"""
import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def cpu_s(p):
    t = p.cpu_times()
    return t.user + t.system


async def one(n, a):
    import psutil

    from runners import config
    from runners.measure import wait_warm
    from runners.spec import parse_spec
    from tiny_model import tiny_spec
    from tui.session import Session

    db = Path(tempfile.mkdtemp(prefix="edgemt-scale-")) / "scale.db"
    session = Session(db, "bench", {"bench": "scale", "tenants": n}, config.load(), window_s=1.0)
    sup = session.supervisor
    me = psutil.Process()
    out = {"tenants": n, "procs": a.procs or 1}
    status = "done"
    try:
        t0 = time.monotonic()
        c0 = cpu_s(me)
        g = await sup.add_group(parse_spec(tiny_spec(n, a.procs)))
        out["starts_sent_s"] = round(time.monotonic() - t0, 2)
        out["controller_cpu_starting_s"] = round(cpu_s(me) - c0, 2)
        await wait_warm(sup, g.tenants, timeout=a.load_timeout)
        out["load_s"] = round(time.monotonic() - t0, 2)
        # CPU the runners and the controller spent to get every tenant warm (machine-independent:
        # the wall time above depends on what else the machine runs)
        out["runner_cpu_loading_s"] = round(sum(cpu_s(psutil.Process(r.pid)) for r in sup.runners), 2)
        out["controller_cpu_loading_s"] = round(cpu_s(me) - c0, 2)
        out["warm"] = sum(1 for t in g.tenants if t.status == "running")
        loads = sorted(t.warm_t for t in g.tenants if t.warm_t is not None)
        out["first_warm_s"] = round(loads[0] - (t0 - sup.t0), 2) if loads else None
        await asyncio.sleep(2)
        kids = [psutil.Process(r.pid) for r in sup.runners]
        since = (int(sup.now() / sup.window_s) + 1) * sup.window_s
        await asyncio.sleep(since - sup.now())
        c0, k0, w0 = cpu_s(me), [cpu_s(k) for k in kids], time.monotonic()
        await asyncio.sleep(a.seconds)
        c1, k1, w1 = cpu_s(me), [cpu_s(k) for k in kids], time.monotonic()
        until = since + a.seconds
        await asyncio.sleep(1.5)  # the last windows of the span arrive
        wall = w1 - w0
        out["controller_cpu_per_s"] = round((c1 - c0) / wall, 4)
        out["runner_cpu_per_s"] = round(sum(b - x for x, b in zip(k0, k1)) / wall, 3)
        out["runner_cpu_per_s_per_proc"] = round(out["runner_cpu_per_s"] / max(1, len(kids)), 3)
        out["cores"] = os.cpu_count()
        out["load_avg_1m"] = round(os.getloadavg()[0], 2)
        out["rss_mb"] = round(me.memory_info().rss / 2**20, 1)
        out["throughput"] = round(sup.level_throughput(g.tenants, since, until), 1)
        out["per_tenant"] = round(out["throughput"] / n, 2)
        out["windows"] = sum(t.n_windows for t in g.tenants)
    except BaseException:
        status = "failed"
        raise
    finally:
        t_stop = time.monotonic()
        await session.close(status)
        out["stop_s"] = round(time.monotonic() - t_stop, 2)
    states = {}
    for t in sup.all_tenants():
        states[t.status] = states.get(t.status, 0) + 1
    out["states"] = states
    out["exit"] = 0 if set(states) == {"stopped"} else 3
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = [{"kind": k, "detail": d} for k, d in
            conn.execute("SELECT kind, detail FROM events WHERE kind IN ('stopping', 'stop_forced')")]
    hours = (conn.execute("SELECT SUM(t_end - t_start) FROM windows").fetchone()[0] or 0) / 3600.0
    conn.close()
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))
    out["grace_s"] = next((json.loads(r["detail"])["grace_s"] for r in rows if r["kind"] == "stopping"), None)
    out["stop_forced"] = sum(1 for r in rows if r["kind"] == "stop_forced")
    out["db_mb_per_tenant_hour"] = round(size / 2**20 / hours, 3) if hours else None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", default="100,500,1000,2000")
    ap.add_argument("--procs", type=int, default=None, help="runner processes for the thread tenants (procs=K)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--load-timeout", type=float, default=600)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    a = ap.parse_args()
    rows = []
    for n in [int(x) for x in a.tenants.split(",")]:
        r = asyncio.run(one(n, a))
        rows.append(r)
        print(json.dumps(r), flush=True)
        if a.json:
            a.json.write_text(json.dumps(rows, indent=1))
    cols = ("tenants", "procs", "load_s", "runner_cpu_loading_s", "throughput", "per_tenant", "controller_cpu_per_s", "rss_mb",
            "runner_cpu_per_s_per_proc", "stop_s", "exit", "db_mb_per_tenant_hour")
    print(" ".join(f"{c:>14}" for c in cols))
    for r in rows:
        print(" ".join(f"{str(r.get(c)):>14}" for c in cols))


if __name__ == "__main__":
    main()
