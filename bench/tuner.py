"""Does ``edgemt tune`` reach within 5% of the grid's best while measuring at most 25% of it?

Replays the tuner's search (the same generator ``edgemt tune`` drives) on grids measured
in full: the CPU grids edgemt recorded here (bench/record_grid.py) and the H200 grids
transcribed from ../shared/paper-notes.md. For each: the grid's best, the tuner's pick,
the ratio, and configurations measured / grid size.

    .venv/bin/python bench/tuner.py
"""
import glob
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from runners.experiments import search  # noqa: E402

GRIDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "grids"


def fmt(cfg):
    return f"c={cfg['concurrency']} b={cfg['batch']} {cfg['isolation']}" if cfg else "none"


def main():
    ok_all = True
    print(f"{'grid':<36} {'grid best':>28} {'tuner pick':>28} {'ratio':>6} {'measured':>9}")
    for path in sorted(glob.glob(str(GRIDS / "*.json"))):
        g = json.loads(Path(path).read_text())
        pts = {(p["concurrency"], p["batch"], p["isolation"]): p for p in g["points"]}
        measure = lambda c: pts.get((c["concurrency"], c["batch"], c["isolation"]), {"ok": False})  # noqa: E731
        full = search.drive(search.exhaustive(g["axes"]), measure)
        r = search.drive(search.tune(g["axes"]), measure)
        ratio = (r["best_score"] or 0) / full["best_score"]
        frac = r["measured"] / r["grid_size"]
        ok = ratio >= 0.95 and frac <= 0.25
        ok_all &= ok
        print(f"{Path(path).stem:<36} {fmt(full['best']) + ' %.1f' % full['best_score']:>28} "
              f"{fmt(r['best']) + ' %.1f' % (r['best_score'] or 0):>28} {ratio:>6.3f} "
              f"{r['measured']:>3}/{r['grid_size']:<3} {'ok' if ok else 'MISS'}")
    print("PASS" if ok_all else "FAIL")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
