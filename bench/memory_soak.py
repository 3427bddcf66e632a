"""Memory soak (not CI): a real ``edgemt run`` of 16 tenants for an hour; the controller's
RSS must stay flat, within 10% from minute 5 to the end (issue 13).

Runs ``edgemt run --tenant SPEC --duration SECONDS --json`` as a child process (the real
headless controller: Session, sampler, supervisor, measure's ticks, the final summary)
and samples its resident memory from outside every ``--every`` seconds, with the number
of windows in the DB so far. The curve goes to ``--out`` (CSV: elapsed_s, rss_mb,
windows, phase), one line as each sample is taken, so a soak cut short still leaves its curve;
the verdict and the figures (RSS at minute 5 and its range after, windows, DB bytes per
tenant-hour, the run's exit status and tenant states) go to ``--out`` with ``.json``.

Flat means: max - min of the RSS samples from ``--settle`` (300 s) to the end <= 10% of
the sample at ``--settle``. The RSS during the final summary (reading the measured phase
back from the DB) is reported apart, as ``summary_peak_mb``.

Usage (start it in the background, low priority):
  nice -n 19 .venv/bin/python bench/memory_soak.py --out bench/results/memory_soak.csv &
  .venv/bin/python bench/memory_soak.py --seconds 120 --settle 30   # a short try
"""
import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mb(pid):
    """Resident set size of a process in MB (from /proc; None once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return None


def look(db):
    """(windows in the DB, whether the measured phase is over: the run's params gain
    ``measured`` just before the controller stops its tenants and prints the summary)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            n = conn.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
            row = conn.execute("SELECT params FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            return n, bool(row and "measured" in json.loads(row[0] or "{}"))
        finally:
            conn.close()
    except (sqlite3.Error, ValueError):
        return None, False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="mobilenet_v2,framework=tflite,count=16,isolation=thread,threads=1")
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--settle", type=float, default=300, help="where flatness is judged from (s)")
    ap.add_argument("--every", type=float, default=15, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "memory_soak.csv")
    ap.add_argument("--db", type=Path, default=None, help="default: a temporary file")
    a = ap.parse_args()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    db = a.db or Path(tempfile.mkdtemp(prefix="edgemt-soak-")) / "soak.db"
    edgemt = str(Path(sys.executable).parent / "edgemt")
    cmd = [edgemt, "run", "--tenant", a.spec, "--duration", str(a.seconds), "--max-duration", str(a.seconds),
           "--db", str(db), "--json"]
    print(" ".join(cmd), flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    curve = []
    with open(a.out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["elapsed_s", "rss_mb", "windows", "phase"])
        fh.flush()
        while proc.poll() is None:
            r = rss_mb(proc.pid)
            if r is not None:
                n, over = look(db)
                row = (round(time.monotonic() - t0, 1), round(r, 2), n, "summary" if over else "run")
                curve.append(row)
                w.writerow(row)
                fh.flush()
                print(f"{row[0]:8.1f} s  rss {row[1]:7.2f} MB  windows {n}", flush=True)
            time.sleep(a.every)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    try:
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    except ValueError:
        result = {}
    # the run's measured phase starts after warm-up; judge from --settle after the start
    steady = [r for r in curve if r[0] >= a.settle]
    # samples after the measured phase ended are the final summary (reads the phase back)
    during = [r for r in steady if r[3] == "run"]
    base = during[0][1] if during else None
    hi = max((r[1] for r in during), default=None)
    lo = min((r[1] for r in during), default=None)
    flat = base is not None and (hi - lo) <= 0.10 * base
    n, _ = look(db)
    tenants = []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        tenants = [r[0] for r in conn.execute("SELECT status FROM tenants")]
        conn.close()
    except sqlite3.Error:
        pass
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))
    count = len(tenants) or 1
    verdict = {
        "spec": a.spec, "seconds": a.seconds, "wall_s": round(wall, 1), "exit": proc.returncode,
        "tenant_states": {s: tenants.count(s) for s in set(tenants)}, "windows": n,
        "rss_at_settle_mb": base, "rss_min_mb": lo, "rss_max_mb": hi,
        "rss_range_percent": round(100 * (hi - lo) / base, 2) if base else None, "flat_within_10_percent": flat,
        "summary_peak_mb": max((r[1] for r in curve if r[3] == "summary"), default=None),
        "db_bytes": size, "db_mb_per_tenant_hour": round(size / 2**20 / count / (a.seconds / 3600), 3),
        "total_throughput": result.get("total_throughput"), "curve": str(a.out),
        "stderr_tail": err.strip().splitlines()[-3:],
    }
    a.out.with_suffix(".json").write_text(json.dumps(verdict, indent=1))
    print(json.dumps(verdict, indent=1))
    if not flat:
        print(f"NOT FLAT: RSS ranged {lo}..{hi} MB after {a.settle:.0f} s (from {base} MB)", file=sys.stderr)
        return 1
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
