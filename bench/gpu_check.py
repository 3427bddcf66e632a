"""edgemt on a CUDA GPU beside the raw CME baseline (bench/cme_baseline.py), same points.

For each model, batch and concurrency level (process isolation), the raw multi-process
loop and `edgemt run --tenant MODEL,resource=cuda:0,batch=B,count=C` measure aggregate
images/s in the same script, one after the other; prints a table of edgemt/raw ratios.
Goal: every point >= 0.95.

Usage: python bench/gpu_check.py [--models mobilenet_v2,resnet50] [--batches 1,8]
       [--levels 1,4,8] [--seconds 3] [--resource cuda:0] [--edgemt PATH]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def baseline(models, batches, levels, seconds):
    import cme_baseline as cb

    cb.MODELS = {m: (299 if m == "inception_v3" else 224) for m in models}
    cb.BATCHES = batches
    cb.WARM_S, cb.RUN_S = 1.0, seconds
    out = {}
    for m in models:
        for c in levels:
            for row in cb.run_procs(m, c):
                out[(m, row["bs"], c)] = row["throughput"]
    return out


def edgemt_point(edgemt, model, batch, count, seconds, resource, db):
    spec = f"{model},resource={resource},batch={batch},count={count},isolation=process"
    p = subprocess.run([edgemt, "run", "--tenant", spec, "--duration", str(seconds), "--json", "--db", db],
                       capture_output=True, text=True)
    if p.returncode not in (0, 3):
        return None, p.stderr.strip()[-200:]
    return json.loads(p.stdout)["total_throughput"], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mobilenet_v2,resnet50")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--levels", default="1,4,8")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--resource", default="cuda:0")
    ap.add_argument("--edgemt", default=str(Path(sys.executable).parent / "edgemt"))
    a = ap.parse_args()
    models = a.models.split(",")
    batches = [int(x) for x in a.batches.split(",")]
    levels = [int(x) for x in a.levels.split(",")]
    raw = baseline(models, batches, levels, a.seconds)
    db = os.path.join(tempfile.mkdtemp(), "gpu.db")
    rows = []
    for m in models:
        for b in batches:
            for c in levels:
                e, err = edgemt_point(a.edgemt, m, b, c, a.seconds, a.resource, db)
                r = raw.get((m, b, c))
                rows.append((m, b, c, r, e, (e / r) if e and r else None, err))
                print(f"{m} b{b} c{c}: raw {r} edgemt {e} {err or ''}", flush=True)
    print(f"\n{'model':<13} {'batch':>5} {'conc':>4} {'raw img/s':>10} {'edgemt':>10} {'ratio':>6}")
    for m, b, c, r, e, q, err in rows:
        print(f"{m:<13} {b:>5} {c:>4} {r or 0:>10.1f} {e or 0:>10.1f} {q or 0:>6.3f}{'  ' + err if err else ''}")
    ok = [q for *_, q, _ in rows if q is not None]
    print(f"min_ratio={min(ok) if ok else 0:.3f} points={len(rows)} goal>=0.95:{bool(ok) and min(ok) >= 0.95}")


if __name__ == "__main__":
    main()
