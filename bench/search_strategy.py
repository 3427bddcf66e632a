"""Does --strategy search find the same maximum level as linear, measuring at most
ceil(log2(max)) + 3 levels? Checked for every possible maximum on synthetic thresholds
(a level fails iff it is above the true maximum, as memory exhaustion behaves) and on
the recorded grids (each (batch, isolation) line, its failing levels as recorded).

    .venv/bin/python bench/search_strategy.py
"""
import glob
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from runners.experiments import search  # noqa: E402

GRIDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "grids"


def main():
    print(f"{'--max':>6} {'bound':>5} {'cases':>6} {'agree':>6} {'search worst':>12} {'search mean':>11} "
          f"{'linear mean':>11} {'doubling mean':>13}")
    ok_all = True
    for M in (2, 4, 8, 16, 64, 100, 256, 1100):
        bound = search.search_budget(M)
        agree, worst, tot_s, tot_l, tot_d = 0, 0, 0, 0, 0
        for m in range(0, M + 1):
            f = lambda lv, m=m: {"ok": lv <= m, "throughput": float(min(lv, m))}  # noqa: E731
            lin = search.drive(search.linear(M), f)
            s = search.drive(search.search(M), f)
            d = search.drive(search.doubling(M), f)
            agree += lin["max_level"] == s["max_level"]
            worst = max(worst, s["levels_measured"])
            tot_s += s["levels_measured"]
            tot_l += lin["levels_measured"]
            tot_d += d["levels_measured"]
        n = M + 1
        ok_all &= agree == n and worst <= bound
        print(f"{M:>6} {bound:>5} {n:>6} {agree:>6} {worst:>12} {tot_s / n:>11.2f} {tot_l / n:>11.2f} {tot_d / n:>13.2f}")
    for path in sorted(glob.glob(str(GRIDS / "*.json"))):
        g = json.loads(Path(path).read_text())
        levels = sorted(g["axes"]["concurrency"])
        M = levels[-1]
        lines = {}
        for p in g["points"]:
            lines.setdefault((p["batch"], p["isolation"]), {})[p["concurrency"]] = p
        for (b, iso), pts in sorted(lines.items()):
            if sorted(pts) != list(range(1, M + 1)):
                continue  # the strategies step by 1: only grids with every level 1..max
            f = lambda lv, pts=pts: pts[lv]  # noqa: E731
            lin, s = search.drive(search.linear(M), f), search.drive(search.search(M), f)
            same = lin["max_level"] == s["max_level"]
            ok_all &= same and s["levels_measured"] <= search.search_budget(M)
            print(f"{Path(path).name} batch {b} {iso}: linear max {lin['max_level']} ({lin['levels_measured']} levels), "
                  f"search max {s['max_level']} ({s['levels_measured']} levels, bound {search.search_budget(M)})")
    print("PASS" if ok_all else "FAIL")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
