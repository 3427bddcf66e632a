"""Cost of telemetry: every available collector sampled at 10 Hz for ~10 s.

Prints the CPU time of the sampler thread (its own thread clock, read by the
sampler after each sample; and of the whole process, which
also holds any reader threads such as tegrastats' or usbmon's) per wall second,
as a percentage of one core, and ``ratio=`` measured/goal for the goal of
under 1% of one core. Probing (loading NVML, connecting to jtop) happens
before the measurement: it is paid once per run, not per sample.

    python3 bench/collectors_cost.py [--hz 10] [--seconds 10]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil  # noqa: E402

from collectors import Sampler, default_collectors, describe  # noqa: E402

GOAL_PERCENT = 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    cols = default_collectors()
    rows = describe(cols)  # probe once, outside the measurement
    active = [c for c in cols if c.available()[0]]
    print(f"machine: {platform.node()} {platform.machine()} {psutil.cpu_count()} CPUs, "
          f"python {platform.python_version()}")
    for name, ok, why in rows:
        print(f"  {name:<11} {'available' if ok else 'n/a'}: {why}")

    proc = psutil.Process()
    sampler = Sampler(active, hz=args.hz)
    sampler.start()
    time.sleep(0.5)  # thread started, first samples taken
    n0 = sampler.samples_taken
    th0, pr0 = sampler.cpu_seconds, proc.cpu_times()
    w0 = time.monotonic()
    time.sleep(args.seconds)
    th1, pr1 = sampler.cpu_seconds, proc.cpu_times()
    w1 = time.monotonic()
    n1 = sampler.samples_taken
    sampler.stop(close=True)

    wall = w1 - w0
    thread_pct = 100.0 * (th1 - th0) / wall
    proc_pct = 100.0 * ((pr1.user + pr1.system) - (pr0.user + pr0.system)) / wall
    n = n1 - n0
    metrics = len(sampler.latest.metrics) if sampler.latest else 0
    print(f"collectors sampled: {', '.join(c.name for c in active)}; {metrics} metrics per snapshot")
    print(f"samples: {n} in {wall:.2f} s = {n / wall:.2f} Hz (asked {args.hz:g} Hz)")
    print(f"per sample: {1000.0 * (th1 - th0) / max(n, 1):.3f} ms CPU")
    print(f"sampler thread: {thread_pct:.3f}% of one core")
    print(f"whole process:  {proc_pct:.3f}% of one core")
    print(f"ratio={thread_pct / GOAL_PERCENT:.3f} (sampler thread CPU / goal {GOAL_PERCENT:g}% of one core; "
          f"below 1 meets the goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
