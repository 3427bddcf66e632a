"""Records a real grid (concurrency x batch x isolation) with edgemt on this machine.

Runs ``edgemt tune --full-grid`` (every configuration measured, results in the DB), then
writes the grid as JSON for the deterministic tests and benchmarks of the search logic:
``{"command": ..., "recorded": ..., "host": ..., "axes": ..., "points": [{config + result}]}``.

    .venv/bin/python bench/record_grid.py --tenant mobilenet_v2 --max 4 --batches 1,2,4 \
        --duration 3 --out tests/data/grids/cpu_mobilenet_v2_torch.json
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEEP = ("ok", "throughput", "std", "p50_ms", "p99_ms", "power_w", "reason", "throttled")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenant", default="mobilenet_v2")
    ap.add_argument("--max", type=int, default=4)
    ap.add_argument("--batches", default="1,2,4")
    ap.add_argument("--isolations", default="process,thread")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--db", default=None)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    db = a.db or os.path.join(tempfile.mkdtemp(), "grid.db")
    edgemt = str(Path(sys.executable).parent / "edgemt")
    cmd = [edgemt, "tune", "--full-grid", "--tenant", a.tenant, "--max", str(a.max), "--batches", a.batches,
           "--isolations", a.isolations, "--duration", str(a.duration), "--db", db, "--json"]
    print("recording:", shlex.join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"edgemt tune failed ({out.returncode}): {out.stderr[-2000:]}")
    res = json.loads(out.stdout)
    import sqlite3

    conn = sqlite3.connect(db)
    host = json.loads(conn.execute("SELECT host FROM runs WHERE id = ?", (res["run_id"],)).fetchone()[0])
    points = []
    for k, v in conn.execute("SELECT key, value FROM results WHERE run = ? AND experiment = 'tune'", (res["run_id"],)):
        k, v = json.loads(k), json.loads(v)
        if k.get("kind") != "config":
            continue
        points.append({"concurrency": k["concurrency"], "batch": k["batch"], "isolation": k["isolation"],
                       **{x: v.get(x) for x in KEEP}})
    grid = {
        "command": "bench/record_grid.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
        "edgemt_command": shlex.join(["edgemt"] + cmd[1:]),
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {k: host.get(k) for k in ("hostname", "machine", "cpu_count", "cpu_model", "kernel") if k in host},
        "load_note": "measured on a shared 2-core VM; other work may have run at the same time",
        "axes": res["summary"]["axes"], "points": sorted(points, key=lambda p: (p["isolation"], p["batch"],
                                                                                 p["concurrency"])),
    }
    Path(a.out).write_text(json.dumps(grid, indent=1) + "\n")
    print(f"wrote {len(points)} points to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
