"""The head's cost per board of `edgemt fleet run`, and the lag from a window on a board to
its row in the fleet DB, on a local Ray cluster (tests/fleet/fleet_cluster.py's: a head and three
boards, one CPU each, tflite mobilenet_v2 threads=1 on every board).

For 1 and then 3 boards: the CPU time and peak RSS of the fleet driver (this process, which
runs runners/fleet/head.py `run_plan`) and of the Ray head node's processes (GCS, raylet,
dashboard and its agents), over the plan; and, for every window row, the time from its end
on the board's clock to its commit in the fleet DB. The nodes share this machine's
monotonic clock, so the lag is exact here (on real boards the clocks differ).
Usage: .venv/bin/python bench/fleet_cost.py [DURATION_S]
"""
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
spec = importlib.util.spec_from_file_location("fleet_cluster", REPO / "tests" / "fleet" / "fleet_cluster.py")
fleet_cluster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fleet_cluster)

import psutil  # noqa: E402

from runners.fleet.head import connect, run_plan  # noqa: E402
from runners.fleet.plan import parse_plan  # noqa: E402


def procs_cpu_rss(pids):
    cpu = rss = 0.0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.Error:
            pass
    return cpu, rss / 2 ** 20


def one(ray, cluster, boards, duration, tmp):
    text = f"duration = {duration}\nwindow = 1.0\n" + "".join(
        f'[boards.{b}]\ntenants = ["mobilenet_v2,framework=tflite,threads=1"]\n' for b in boards)
    plan = parse_plan(text, f"{len(boards)} boards")
    t0s, tenant_run, lags = {}, {}, []

    def on_rows(board, counts, res):
        now = time.monotonic()
        rows = res["rows"]
        if not rows:
            return
        cols, runs = rows["runs"]
        for r in runs:
            rec = dict(zip(cols, r))
            t0s[(board, rec["id"])] = rec["t0_monotonic"]
        cols, tenants = rows["tenants"]
        for r in tenants:
            rec = dict(zip(cols, r))
            tenant_run[(board, rec["id"])] = rec["run"]
        cols, windows = rows["windows"]
        for w in windows[-counts["windows"]:] if counts["windows"] else []:
            rec = dict(zip(cols, w))
            t0 = t0s.get((board, tenant_run.get((board, rec["tenant"]))))
            if t0 is not None:
                lags.append(now - (t0 + rec["t_end"]))

    me = psutil.Process()
    head_pids = cluster.nodes["head"].session_pids()
    peak = [0.0]
    stop = threading.Event()

    def watch():
        while not stop.wait(0.25):
            peak[0] = max(peak[0], me.memory_info().rss / 2 ** 20)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    c0 = me.cpu_times()
    h0, _ = procs_cpu_rss(head_pids)
    b0, _ = procs_cpu_rss(cluster.nodes["b1"].session_pids())
    w0 = time.monotonic()
    outcomes, _ = run_plan(ray, plan, Path(tmp) / f"fleet-{len(boards)}.db", on_rows=on_rows)
    wall = time.monotonic() - w0
    c1 = me.cpu_times()
    h1, head_rss = procs_cpu_rss(cluster.nodes["head"].session_pids())
    b1, b1_rss = procs_cpu_rss(cluster.nodes["b1"].session_pids())  # Ray's own processes on board b1
    stop.set()
    th.join()
    driver_cpu = (c1.user + c1.system) - (c0.user + c0.system)
    lags.sort()
    return {
        "boards": len(boards), "wall_s": round(wall, 1), "states": [o.state for o in outcomes],
        "driver_cpu_s": round(driver_cpu, 2), "driver_cpu_percent": round(100 * driver_cpu / wall, 1),
        "driver_peak_rss_mb": round(peak[0], 1),
        "ray_head_cpu_s": round(h1 - h0, 2), "ray_head_cpu_percent": round(100 * (h1 - h0) / wall, 1),
        "ray_head_rss_mb": round(head_rss, 1),
        "board_node_cpu_percent": round(100 * (b1 - b0) / wall, 1), "board_node_rss_mb": round(b1_rss, 1),
        "windows": len(lags),
        "lag_s": {"median": round(statistics.median(lags), 3), "p90": round(lags[int(0.9 * (len(lags) - 1))], 3),
                  "max": round(lags[-1], 3)} if lags else None,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    tmp = tempfile.mkdtemp(prefix="fleet-bench-")
    cluster = fleet_cluster.Cluster(Path(tmp))
    try:
        cluster.start()
        ray = connect(cluster.address)
        out = [one(ray, cluster, ["b1"], duration, tmp), one(ray, cluster, ["b1", "b2", "b3"], duration, tmp)]
        ray.shutdown()
    finally:
        left = cluster.stop()
    a, b = out
    per_board = {k: round((b[k] - a[k]) / 2, 2) for k in ("driver_cpu_percent", "driver_peak_rss_mb",
                                                          "ray_head_cpu_percent", "ray_head_rss_mb")}
    print(json.dumps({"runs": out, "per_added_board": per_board, "left_processes": left}, indent=1))


if __name__ == "__main__":
    main()
