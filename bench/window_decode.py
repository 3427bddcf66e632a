"""Controller CPU per window, one ``window`` line a window against one ``windows`` line a
reporter pass, side by side in one run (prints figures and the ratio; not a test).

The controller here is the real one: a Supervisor and a Store (a temporary DB), reading a
runner child through the real RunnerProcess reader (pipe, asyncio readline, wire.decode,
``Supervisor._on_report``, the window log, the Store's queue and its write). The child is a
stand-in speaking the protocol (a small script given as the framework's interpreter): it
starts N tenants, then on a ``burst`` command sends P reporter passes of one window per
tenant, a short gap between passes (as a pass a window apart would arrive), written with
the real child's encoders: ``lines`` is the old form (wire.encode of each ``window``, in one
write), ``batched`` is runners/child/child_io.Emitter.emit_windows (``windows`` lines).

What is measured is the controller process's CPU time (every thread: the reader and the
Store's writer) from the burst command until every window is in the DB, divided by the
windows. The two forms alternate (lines, batched, lines, batched, ...) so a change in
the machine's load falls on both; the figure of each form is its median round.

  .venv/bin/python bench/window_decode.py [--tenants 2000] [--passes 5] [--rounds 3] [--forms batched]

Old code against new in one run: a copy of this file in an export of the old tree runs
the old code (it imports from the tree it sits in), e.g. alternating
``python OLD/bench/window_decode.py --forms batched`` and the same here.
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STANDIN = """#!{python}
import json, sys, time
sys.path.insert(0, {child_dir!r})
import wire
from child_io import Emitter

out = Emitter(sys.stdout)
tenants = []
epoch = None
for line in sys.stdin:
    msg = json.loads(line)
    cmd, tid = msg.get("cmd"), msg.get("tenant")
    if cmd == "start":
        tenants.append(tid)
        epoch = msg["spec"]["epoch"]
        out.emit("warm", tenant=tid, t=time.monotonic())
    elif cmd == "burst":
        for p in range(msg["passes"]):
            k = msg["first"] + p
            t0, t1 = round(epoch + k, 6), round(epoch + k + 1, 6)
            # a typical window of a tiny model: a few latency buckets
            ws = [dict(tenant=t, t0=t0, t1=t1, images=57 + t % 5, batches=57 + t % 5, batch=1,
                       hist={{"38": 20 + t % 3, "39": 30, "40": 7}}, late=0) for t in tenants]
            if msg["mode"] == "lines":
                text = "".join(wire.encode(dict(w, ev="window")) for w in ws)
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                out.emit_windows(ws)
            time.sleep(msg["gap"])
    elif cmd == "stop":
        for t in ([tid] if tid is not None else tenants):
            out.emit("stopped", tenant=t)
        if tid is None:
            break
"""


async def until(pred, timeout):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise SystemExit("the stand-in child did not deliver in time")
        await asyncio.sleep(0.01)


async def main_async(a):
    from runners.measure import wait_warm
    from runners.spec import parse_spec
    from runners.supervisor import Supervisor
    from storage.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="edgemt-wdecode-"))
    script = tmp / "standin"
    script.write_text(STANDIN.format(python=sys.executable, child_dir=str(REPO / "runners" / "child")))
    script.chmod(0o755)
    store = Store(tmp / "w.db")
    run_id = store.create_run("bench", {}, {}, t0_monotonic=time.monotonic())
    sup = Supervisor(store, run_id, python_for=lambda fw: str(script), window_s=1.0, hang_windows=10_000,
                     logs_dir=tmp / "logs")
    g = await sup.add_group(parse_spec(f"mobilenet_v2,framework=tflite,count={a.tenants}"))
    await wait_warm(sup, g.tenants, timeout=120)
    runner = next(iter(sup.runners))
    first = 1
    forms = a.forms.split(",")
    results = {m: [] for m in forms}
    for _ in range(a.rounds):
        for mode in forms:
            store.flush()
            target = g.tenants[0].n_windows + a.passes
            c0 = time.process_time()
            runner.send({"cmd": "burst", "mode": mode, "passes": a.passes, "first": first, "gap": a.gap})
            await until(lambda: all(t.n_windows >= target for t in g.tenants), timeout=300)
            store.flush()
            results[mode].append((time.process_time() - c0) / (a.passes * a.tenants) * 1e6)
            first += a.passes
    await sup.shutdown()
    store.close()
    per = {m: statistics.median(v) for m, v in results.items()}
    load = os.getloadavg()
    print(f"\n{a.tenants} tenants, {a.passes} passes a round, {a.rounds} rounds each; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'form':<10} {'controller CPU us/window (median)':>34} {'rounds':>30}")
    for m in forms:
        print(f"{m:<10} {per[m]:>34.1f} {' '.join(f'{x:.1f}' for x in results[m]):>30}")
        print(f"{m} cpu_s_per_1000_windows={per[m] / 1000:.4f}")
    if len(forms) < 2:
        return
    print(f"ratio lines/batched: {per['lines'] / per['batched']:.2f}x; at 2,000 windows a second: "
          f"{per['lines'] * 2000 / 1e4:.1f}% -> {per['batched'] * 2000 / 1e4:.1f}% of a core")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=2000)
    ap.add_argument("--passes", type=int, default=5, help="reporter passes a round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each form, alternating")
    ap.add_argument("--forms", default="lines,batched", help="forms measured, of lines,batched")
    ap.add_argument("--gap", type=float, default=0.05, help="seconds between passes")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
