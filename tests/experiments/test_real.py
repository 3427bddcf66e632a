"""Real experiments on the CPU with small torch models and short fixed durations."""
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_analysis import independent_r

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
EDGEMT = [sys.executable, "-m", "tui.cli"]


def edgemt(*args, timeout=300):
    p = subprocess.run([*EDGEMT, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    return p


def results(db, run):
    conn = sqlite3.connect(db)
    return [(json.loads(k), json.loads(v)) for k, v in
            conn.execute("SELECT key, value FROM results WHERE run = ? ORDER BY id", (run,))]


def test_batch_sweep_then_report_and_correlate(tmp_path):
    db = tmp_path / "e.db"
    p = edgemt("sweep", "batch", "--tenant", "mobilenet_v2,threads=1", "--batches", "1,2", "--duration", "2.5", "--db", str(db),
               "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    s = out["summary"]
    assert s["largest_runnable_batch"] == 2 and s["best_batch"] in (1, 2) and s["best_throughput"] > 0
    rows = results(db, out["run_id"])
    levels = [v for k, v in rows if k["kind"] == "level"]
    assert [k["batch"] for k, _ in rows if k["kind"] == "level"] == [1, 2]
    assert all(v["ok"] and v["throughput"] > 0 and "cpu_percent" in v["resources"] for v in levels)
    # the CSV of the results
    csv = tmp_path / "r.csv"
    p = edgemt("report", str(out["run_id"]), "--db", str(db), "--plot", str(tmp_path / "r.png"), "--csv", str(csv))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "r.png").stat().st_size > 10000 and len(csv.read_text().splitlines()) == 4
    assert "batch sweep" in p.stdout and "largest runnable batch 2" in p.stdout
    # correlate on a real run agrees with the independent computation
    p = edgemt("correlate", str(out["run_id"]), "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    rows = {r["series"]: r for r in json.loads(p.stdout)["rows"]}
    for metric in ("cpu_percent", "batch"):
        if rows[metric]["r"] is not None:
            r, n = independent_r(db, out["run_id"], metric)
            assert rows[metric]["n"] == n and abs(rows[metric]["r"] - r) < 1e-9


def test_concurrency_sweep_search_warm(tmp_path):
    db = tmp_path / "c.db"
    p = edgemt("sweep", "concurrency", "--tenant", "squeezenet1_0,threads=1", "--max", "2", "--strategy", "search",
               "--warm-start", "--duration", "2.5", "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["summary"]
    assert s["max_level"] == 2 and s["ended_by"] == "reached --max" and s["levels_measured"] == 2
    assert s["gain"] is not None and s["best_level"] in (1, 2)
    assert s["levels"]["2"]["warm_start"] is True and s["levels"]["1"]["warm_start"] is False
    assert s["levels"]["2"]["resources"]["cpu_percent"] > 0


def test_dmp_between_two_cpu_groups(tmp_path):
    db = tmp_path / "d.db"
    p = edgemt("dmp", "--tenant", "mobilenet_v2,threads=1", "--tenant", "squeezenet1_0,threads=1", "--as-given", "--duration", "2.5",
               "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["summary"]
    parts = list(s["parts"].values())
    assert len(parts) == 2 and all(x["alone"] > 0 and x["together"] > 0 for x in parts)
    assert s["ideal"] == pytest.approx(sum(x["alone"] for x in parts), abs=1e-3)
    assert s["achieved"] == pytest.approx(sum(x["together"] for x in parts), rel=1e-3)
    assert s["gap_percent"] == pytest.approx((s["ideal"] - s["achieved"]) / s["ideal"] * 100, abs=0.01)
    assert s["resources_together"]["cpu_percent"] > 0


def test_ctrl_c_keeps_levels_and_resume_continues(tmp_path):
    db = tmp_path / "i.db"
    proc = subprocess.Popen([*EDGEMT, "sweep", "concurrency", "--tenant", "mobilenet_v2,threads=1", "--max", "3",
                             "--duration", "1", "--db", str(db), "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        time.sleep(0.5)
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if n >= 1:
                break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "edgemt: stopped by SIGINT (Ctrl-C); what was measured is in run" in err, err
    first = json.loads(out)
    assert first["status"] == "interrupted" and first["summary"]["ended_by"] == "stopped"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT status FROM runs WHERE id = ?", (first["run_id"],)).fetchone()[0] == "interrupted"
    kept = [k["concurrency"] for k, _ in results(db, first["run_id"]) if k["kind"] == "level"]
    assert kept and kept[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM tenants WHERE run = ? AND status IN ('running','starting')",
                        (first["run_id"],)).fetchone()[0] == 0
    p = edgemt("sweep", "concurrency", "--resume", str(first["run_id"]), "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    second = json.loads(p.stdout)
    assert second["summary"]["max_level"] == 3 and second["summary"]["levels_measured"] == 3
    rows = results(db, second["run_id"])
    reused = [k["concurrency"] for k, v in rows if k["kind"] == "level" and v.get("resumed_from") == first["run_id"]]
    assert reused == kept


@pytest.mark.parametrize("args, text", [
    (["sweep", "concurrency", "--tenant", "mobilenet_v2", "--strategy", "fast"], "--strategy 'fast'"),
    (["sweep", "batch", "--tenant", "mobilenet_v2", "--batches", "1,x"], "batch"),
    (["sweep", "batch", "--tenant", "mobilenet_v2", "--batches", "1,1"], "repeats"),
    (["sweep", "concurrency", "--tenant", "mobilenet_v2", "--max", "0"], "--max: '0' is out of range"),
    (["dmp", "--tenant", "mobilenet_v2"], "two or more"),
    (["tune", "--tenant", "mobilenet_v2", "--objective", "speed"], "--objective"),
    (["tune", "--tenant", "mobilenet_v2", "--isolations", "process,vm"], "isolation"),
    (["sweep", "batch"], "--tenant SPEC is required"),
    (["sweep", "concurrency", "--resume", "99"], "no such run"),
    (["report", "--plot", "x.txt"], ".png or .svg"),
    (["correlate", "42"], "not in the DB"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, text):
    db = tmp_path / "b.db"
    if args[0] in ("report", "correlate") or "--resume" in args:
        from test_analysis import make_run

        make_run(db)
    p = edgemt(*args, "--db", str(db), timeout=60)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert text in p.stderr and len(p.stderr.strip().splitlines()) == 1


async def test_a_killed_tenant_ends_the_sweep_as_its_answer(tmp_path):
    """Level 2's newest tenant is killed (as the OOM killer would): the answer is max level 1."""
    from runners import config
    from runners.experiments import concurrency_sweep
    from runners.experiments.common import Context
    from runners.spec import parse_spec
    from tui.session import Session

    session = Session(tmp_path / "k.db", "sweep-concurrency", {}, config.load(), collectors=[])
    sup = session.supervisor
    ctx = Context(sup, session.store, session.run_id, concurrency_sweep.EXPERIMENT, duration=2.0)

    async def killer():
        while True:
            await asyncio.sleep(0.2)
            running = [t for t in sup.all_tenants() if t.status == "running"]
            if len(running) == 2:
                os.kill(running[-1].runner.pid, signal.SIGKILL)
                return

    task = asyncio.get_running_loop().create_task(killer())
    try:
        s = await concurrency_sweep.run(ctx, parse_spec("squeezenet1_0,threads=1"), max_level=3, warm=True)
    finally:
        task.cancel()
        await session.close()
    assert s["max_level"] == 1 and s["first_failed_level"] == 2 and s["ended_by"] == "a level failed"
    assert "SIGKILL" in s["failed_reason"]
    assert s["levels"]["1"]["ok"] and not s["levels"]["2"]["ok"]
