"""Start lag of an open-loop tenant: how late each query starts after its scheduled slot.

Runs ``edgemt run --tenant SPEC --duration S --json`` into a scratch DB (default: one idle
tflite mobilenet_v2 tenant at 20 queries a second, constant arrivals, for 10 s) and prints
the distribution of its queries' start lags over the measured windows, from the windows'
``lag_hist`` (20 buckets a decade: a percentile is a bucket's upper edge), ``lag_sum`` and
``lag_max`` (exact). Beside it, the same machine's own wake-up precision at that time:
``threading.Event().wait(t)`` overshoot over --probe waits of 50 ms, so a reader can tell
the child's lag from the machine's (the child sleeps on exactly that call). The load
average before and after is printed too: on a shared machine the lag is mostly its load.

With ``--pairs N`` it runs the SPEC as given and with ``rt=on`` (real-time waiting,
runners/child/slot_wait.py) in turns, N times each, so the two are compared on the same
machine at the same time; a row per run, then each side's runs pooled.

Usage: .venv/bin/python bench/open_loop_lag.py [--spec SPEC] [--seconds 10] [--probe 200] [--pairs N]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "runners" / "child"))
import latency  # noqa: E402


def wait_overshoot(n: int, wait_s: float = 0.05) -> list:
    e = threading.Event()
    out = []
    for _ in range(n):
        due = time.monotonic() + wait_s
        e.wait(due - time.monotonic())
        out.append(time.monotonic() - due)
    return sorted(out)


def lag_distribution(dbs) -> dict:
    """The start lags of every counted window of the runs in ``dbs`` (one path or a list)."""
    hist, started, lag_sum, lag_max, sched, dropped = {}, 0, 0.0, 0.0, 0, 0
    for db in dbs if isinstance(dbs, list) else [dbs]:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        for lh, ls, lm, st, sc, dr in conn.execute(
                "SELECT lag_hist, lag_sum, lag_max, started, scheduled, dropped FROM windows WHERE scheduled IS NOT NULL"):
            latency.merge(hist, json.loads(lh or "{}"))
            started += st
            lag_sum += ls
            lag_max = max(lag_max, lm)
            sched += sc
            dropped += dr
        conn.close()

    def below(seconds):  # queries whose bucket lies wholly below ``seconds``
        return sum(v for k, v in hist.items() if latency.upper_edge(int(k)) <= seconds * (1 + 1e-9))

    return {"scheduled": sched, "started": started, "dropped": dropped,
            "mean_ms": 1000 * lag_sum / started if started else None, "max_ms": 1000 * lag_max,
            "p50_ms": 1000 * latency.percentile(hist, 50), "p90_ms": 1000 * latency.percentile(hist, 90),
            "p99_ms": 1000 * latency.percentile(hist, 99),
            "under_1ms": below(1e-3) / started if started else None,
            "under_10ms": below(1e-2) / started if started else None}


def run_lag(spec: str, seconds: float, dbs: list, folder: str) -> dict:
    """One ``edgemt run`` of ``spec`` into a new DB in ``folder``; the lag distribution of its
    windows (the DB joins ``dbs``)."""
    db = Path(folder) / f"lag{len(list(Path(folder).iterdir()))}.db"
    edgemt = str(Path(sys.executable).parent / "edgemt")
    r = subprocess.run([edgemt, "run", "--tenant", spec, "--duration", str(seconds), "--db", str(db), "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"edgemt run failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    dbs.append(db)
    return lag_distribution(db)


def show(label: str, lag: dict) -> None:
    print(f"{label}: {lag['started']} of {lag['scheduled']} started, {lag['dropped']} dropped; "
          f"start lag mean {lag['mean_ms']:.3f} ms, p50 <= {lag['p50_ms']:.3f} ms, p90 <= {lag['p90_ms']:.3f} ms, "
          f"p99 <= {lag['p99_ms']:.3f} ms, max {lag['max_ms']:.3f} ms; under 1 ms {lag['under_1ms']:.1%}, "
          f"under 10 ms {lag['under_10ms']:.1%}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spec", default="mobilenet_v2,framework=tflite,batch=1,threads=1,rate=20")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--probe", type=int, default=200)
    p.add_argument("--pairs", type=int, default=0, help="compare SPEC and SPEC,rt=on in turns, N runs each")
    a = p.parse_args()
    load0 = os.getloadavg()
    print(f"SPEC {a.spec}, {a.seconds:g} s a run; load average {load0[0]:.1f} before", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if a.pairs:
            sides = {"sleep": [], "rt=on": []}
            for i in range(a.pairs):
                for side, dbs in sides.items():
                    spec = a.spec if side == "sleep" else a.spec + ",rt=on"
                    show(f"run {i + 1} {side:6s} (load {os.getloadavg()[0]:.1f})", run_lag(spec, a.seconds, dbs, tmp))
            for side, dbs in sides.items():
                show(f"all {side:6s}", lag_distribution(dbs))
        else:
            show("start lag", run_lag(a.spec, a.seconds, [], tmp))
    over = wait_overshoot(a.probe)
    print(f"load average {os.getloadavg()[0]:.1f} after")
    n = len(over)
    print(f"machine: Event.wait(50 ms) overshoot over {n} waits: p50 {1000 * over[n // 2]:.3f} ms, "
          f"p90 {1000 * over[int(n * 0.9)]:.3f} ms, p99 {1000 * over[int(n * 0.99)]:.3f} ms, "
          f"max {1000 * over[-1]:.3f} ms")


if __name__ == "__main__":
    main()
