"""The controller's memory is bounded by its tenants, not by their windows (issue 13).

Runner children here are stand-ins speaking the protocol (a small script given as the
framework's interpreter): each tenant reports a burst of windows at start and one more
burst at every ``resume``, as fast as the pipe takes them, so thousands of windows pass
through the real reader, supervisor and Store in seconds. What is counted is what stays
alive afterwards (Window objects, Python memory), never how long anything took."""
import asyncio
import gc
import sqlite3
import sys
import time
import tracemalloc

from storage.aggregate import Window
from runners.spec import parse_spec
from runners.supervisor import Supervisor
from storage.store import Store

# 4 tenants x (1 + 4 rounds) x 500 = 10,000 windows (36,000 before: 9 s alone, 40-60 s in
# make check's workers, for the same check; the noise measured was 1-4 KB at any count).
BURST = 500
TENANTS = 4

STANDIN = """#!{python}
import json, sys
tenants = {{}}
def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\\n")
def burst(tid):
    st = tenants[tid]
    for _ in range({burst}):
        t0 = st["epoch"] + st["k"] * st["w"]
        st["k"] += 1
        emit({{"ev": "window", "tenant": tid, "t0": t0, "t1": t0 + st["w"], "images": 10, "batches": 5,
              "batch": 2, "hist": {{"60": 4, "61": 1}}}})
    sys.stdout.flush()
for line in sys.stdin:
    msg = json.loads(line)
    cmd, tid = msg.get("cmd"), msg.get("tenant")
    if cmd == "start":
        tenants[tid] = {{"k": 1, "epoch": msg["spec"]["epoch"], "w": msg["spec"]["window_s"]}}
        emit({{"ev": "warm", "tenant": tid}})
        burst(tid)
    elif cmd == "resume":
        burst(tid)
    elif cmd == "stop":
        for t in ([tid] if tid is not None else list(tenants)):
            emit({{"ev": "stopped", "tenant": t}})
        sys.stdout.flush()
        if tid is None:
            break
"""


async def until(pred, timeout=120.0):
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.05)


# Python memory allocated by the controller's code (the supervisor, the window log, the
# Store, the protocol decoder, asyncio's reader): threads other tests left running in this
# process (in-process runner children) are not counted.
CONTROLLER = [tracemalloc.Filter(True, pattern) for pattern in
              ("*/runners/*", "*/storage/*", "*/json/decoder.py", "*/asyncio/*")] + \
             [tracemalloc.Filter(False, "*/runners/child/child_loop.py")]


def kept():
    gc.collect()
    windows = sum(1 for o in gc.get_objects() if type(o) is Window)
    if not tracemalloc.is_tracing():
        return windows, None
    traces = tracemalloc.take_snapshot().filter_traces(CONTROLLER)
    return windows, sum(t.size for t in traces.traces)


async def test_memory_does_not_grow_with_windows(tmp_path):
    script = tmp_path / "burst-child"
    script.write_text(STANDIN.format(python=sys.executable, burst=BURST))
    script.chmod(0o755)
    store = Store(tmp_path / "m.db")
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    sup = Supervisor(store, run_id, python_for=lambda fw: str(script), window_s=0.5, hang_windows=10_000,
                     logs_dir=tmp_path / "logs", recent_windows=16)
    windows_0, _ = kept()  # other tests' windows that may still be alive in this process
    tracemalloc.start()
    try:
        g = await sup.add_group(parse_spec(f"mobilenet_v2,framework=tflite,count={TENANTS}"))
        await until(lambda: all(t.n_windows == BURST for t in g.tenants))
        store.flush()
        windows_1, mem_1 = kept()
        rounds = 4
        for i in range(2, rounds + 2):
            await sup.resume(g.id)
            await until(lambda: all(t.n_windows == i * BURST for t in g.tenants))
        store.flush()
        windows_2, mem_2 = kept()
        # every window reached the DB and the running totals
        assert all(t.images == 10 * (rounds + 1) * BURST for t in g.tenants)
        assert sup.level_throughput(g.tenants) == TENANTS * 10 / 0.5
        since = g.tenants[0].recent[0].t_start - 100 * 0.5  # older than memory holds: from the DB
        assert len(g.tenants[0].windows_between(since)) == 100 + 16
        await sup.shutdown()
    finally:
        tracemalloc.stop()
        store.close()
    added = TENANTS * rounds * BURST
    # bounded by tenants x recent windows, however many windows went through
    assert windows_1 - windows_0 <= TENANTS * 16 + 4 and windows_2 <= windows_1, (windows_0, windows_1, windows_2)
    # 8,000 more windows would keep ~2.5 MB if each were kept; allow 4 bytes a window for noise
    assert mem_2 - mem_1 < 4 * added, (mem_1, mem_2)
    rows = sqlite3.connect(tmp_path / "m.db").execute("SELECT COUNT(*) FROM windows").fetchone()[0]
    assert rows == TENANTS * (rounds + 1) * BURST


async def test_procs_spreads_a_thread_group_over_runner_processes(tmp_path):
    """procs=3: six thread tenants in three runner processes, two each; all stop cleanly."""
    script = tmp_path / "burst-child"
    script.write_text(STANDIN.format(python=sys.executable, burst=5))
    script.chmod(0o755)
    store = Store(tmp_path / "p.db")
    run_id = store.create_run("test", {}, {}, t0_monotonic=time.monotonic())
    sup = Supervisor(store, run_id, python_for=lambda fw: str(script), window_s=0.5, hang_windows=10_000,
                     logs_dir=tmp_path / "logs")
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,framework=tflite,count=6,procs=3"))
        await until(lambda: all(t.n_windows == 5 for t in g.tenants))
        pids = [t.runner.pid for t in g.tenants]
        assert len(set(pids)) == 3 and sorted(pids.count(p) for p in set(pids)) == [2, 2, 2]
        assert await sup.step(g.id, +1) == 7  # the next one joins a runner, no fourth process
        assert len({t.runner.pid for t in g.tenants}) == 3
        await sup.shutdown()
    finally:
        store.close()
    assert {t.status for t in g.tenants} == {"stopped"}
