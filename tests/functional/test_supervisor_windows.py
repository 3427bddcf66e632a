"""A reporter pass's windows in one ``windows`` line (runners/child/wire.py) are recorded
exactly as the same windows sent one ``window`` line each: the same rows in the DB, the
same running totals, the same events (issue 13: one line decoded a pass, not one a window).

The runner child is a stand-in speaking the protocol (a small script given as the
framework's interpreter) that sends a fixed set of windows in the form it is given:
closed-loop ones of two tenants, open-loop ones (query fields, ``within`` on one) of a
third, a window of a tenant the controller does not know, and a bad one."""
import asyncio
import sqlite3
import sys
import time
from pathlib import Path

from runners.spec import parse_spec
from runners.supervisor import Supervisor
from storage.store import Store

CHILD_DIR = Path(__file__).resolve().parents[2] / "runners" / "child"

STANDIN = """#!{python}
import json, sys
sys.path.insert(0, {child_dir!r})
import wire
from child_io import Emitter

out = Emitter(sys.stdout)
FORM = {form!r}
tenants = []
for line in sys.stdin:
    msg = json.loads(line)
    cmd, tid = msg.get("cmd"), msg.get("tenant")
    if cmd == "start":
        tenants.append(tid)
        out.emit("warm", tenant=tid)
        if len(tenants) < 3:
            continue
        a, b, c = tenants
        e = msg["spec"]["epoch"]
        ws = []
        for k in range(1, 5):
            t0, t1 = e + k * 0.5, e + (k + 1) * 0.5
            ws.append(dict(tenant=a, t0=t0, t1=t1, images=10 + k, batches=5, batch=2, hist={{"60": 4, "61": 1}}, late=0))
            ws.append(dict(tenant=b, t0=t0, t1=t1, images=3 * k, batches=3 * k, batch=1, hist={{}}, late=1))
            ws.append(dict(tenant=c, t0=t0, t1=t1, images=k, batches=k, batch=1, hist={{"70": k}}, late=0,
                           scheduled=k + 1, dropped=1, started=k, completed=k, within=k - 1, queue=1,
                           lag_sum=0.001 * k, lag_max=0.001, lag_hist={{"10": k}}, qhist={{"72": k}}))
        ws.append(dict(tenant=999, t0=e, t1=e + 0.5, images=1, batches=1, batch=1, hist={{}}, late=0))
        ws.append(dict(tenant=a, t0=e + 9, t1=e + 9.5, images="many", batches=1, batch=1, hist={{}}, late=0))
        if FORM == "windows":
            out.emit_windows(ws)
        else:
            for w in ws:
                out.emit("window", **w)
    elif cmd == "stop":
        for t in ([tid] if tid is not None else tenants):
            out.emit("stopped", tenant=t)
        if tid is None:
            break
"""


async def record(tmp_path, form):
    script = tmp_path / f"standin-{form}"
    script.write_text(STANDIN.format(python=sys.executable, child_dir=str(CHILD_DIR), form=form))
    script.chmod(0o755)
    db = tmp_path / f"{form}.db"
    store = Store(db)
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    sup = Supervisor(store, run_id, python_for=lambda fw: str(script), window_s=0.5, hang_windows=10_000,
                     logs_dir=tmp_path / f"logs-{form}")
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,framework=tflite,count=3"))
        end = time.monotonic() + 60
        while not all(t.n_windows == 4 for t in g.tenants):
            assert time.monotonic() < end, [t.n_windows for t in g.tenants]
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # anything else sent after them (nothing should come)
        totals = [(t.n_windows, t.images, t.batches, dict(t.log.hist), t.heard_why, t.heard_t) for t in g.tenants]
        runner = next(iter(sup.runners))
        last_t1 = runner.last_t1
        await sup.shutdown()
    finally:
        store.close()
    con = sqlite3.connect(db)
    rows = con.execute("SELECT tenant, t_start, t_end, images, batches, batch, hist, scheduled, started, completed, "
                       "dropped, within_slo, queue, lag_sum, lag_max, lag_hist, qhist FROM windows "
                       "ORDER BY tenant, t_start").fetchall()
    errors = [r[0] for r in con.execute("SELECT detail FROM events WHERE kind = 'error'")]
    return rows, totals, last_t1, errors


async def test_a_windows_line_is_recorded_as_its_window_lines(tmp_path):
    lines = await record(tmp_path, "window")
    batched = await record(tmp_path, "windows")
    rows, totals, last_t1, errors = batched
    assert len(rows) == 12 and totals[0][:3] == (4, 11 + 12 + 13 + 14, 20)
    assert rows[-1][7:13] == (5, 4, 4, 1, 3, 1)  # the open-loop tenant's query fields reached the DB
    assert len(errors) == 1 and "many" in errors[0]  # the bad window, reported; the rest recorded
    assert batched == lines
