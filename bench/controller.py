"""What the controller itself costs with 16 busy real tenants: CPU-s per wall-s and RSS.

This process *is* the controller (Session: store, sampler at 2 Hz, supervisor); the
tenants are real runner children (default: 16 tflite mobilenet_v2 tenants as threads in
one child, or --spec for another SPEC). The controller's own CPU time (this process only,
children excluded) is measured over --seconds after every tenant is warm, beside the
children's CPU over the same span, and the controller's RSS. Also checks that no DL
framework was imported here. Goal: < 0.03 CPU-s/s and < 80 MB.

Usage: .venv/bin/python bench/controller.py [--spec SPEC] [--seconds 20]
"""
import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FRAMEWORK_MODULES = ("torch", "tensorflow", "mxnet", "ai_edge_litert", "tflite_runtime", "textual", "keras")


async def main_async(a):
    import psutil

    from runners import config
    from runners.measure import wait_warm
    from runners.spec import parse_spec
    from tui.session import Session

    db = Path(tempfile.mkdtemp()) / "controller.db"
    session = Session(db, "bench", {"bench": "controller"}, config.load(), window_s=1.0, sample_hz=2.0)
    sup = session.supervisor
    me = psutil.Process()
    try:
        g = await sup.add_group(parse_spec(a.spec))
        await wait_warm(sup, g.tenants)
        await asyncio.sleep(2)  # let the first windows settle
        kids = [psutil.Process(r.pid) for r in sup.runners]
        c0, k0, t0 = me.cpu_times(), [k.cpu_times() for k in kids], time.monotonic()
        await asyncio.sleep(a.seconds)
        c1, k1, t1 = me.cpu_times(), [k.cpu_times() for k in kids], time.monotonic()
        wall = t1 - t0
        ctl = (c1.user + c1.system - c0.user - c0.system) / wall
        child = sum((b.user + b.system - x.user - x.system) for x, b in zip(k0, k1)) / wall
        rss = me.memory_info().rss / 2**20
        windows = sum(t.n_windows for t in g.tenants)
        running = sum(1 for t in g.tenants if t.status == "running")
        loaded = sorted(m for m in FRAMEWORK_MODULES if m in sys.modules)
        tput = sup.level_throughput(g.tenants, since=t0 - sup.t0)
    finally:
        await session.close()
    print(f"\ncontroller with {running} busy tenants ({a.spec}), {wall:.1f} s measured, sampler 2 Hz")
    print(f"{'what':<34} {'value':>10}")
    print(f"{'controller CPU-s per wall-s':<34} {ctl:>10.4f}")
    print(f"{'tenants CPU-s per wall-s':<34} {child:>10.3f}")
    print(f"{'controller RSS MB':<34} {rss:>10.1f}")
    print(f"{'windows received':<34} {windows:>10d}")
    print(f"{'tenants total img/s':<34} {tput:>10.1f}")
    print(f"{'DL framework modules loaded here':<34} {', '.join(loaded) or 'none':>10}")
    print(f"cpu_per_s={ctl:.4f} rss_mb={rss:.1f} goal_cpu<0.03:{ctl < 0.03} goal_rss<80:{rss < 80}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default="mobilenet_v2,framework=tflite,count=16,isolation=thread,threads=1")
    ap.add_argument("--seconds", type=float, default=20)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
