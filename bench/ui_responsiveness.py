"""UI responsiveness, measured side by side in one run; prints its figures.

1. refresh cost: one full redraw (table, resources, chart, header) with 32 tenants vs 1,
   windows fed through the real messages and widgets (headless, 120x36);
2. UI process CPU beyond the tenants: the controller+UI process's own CPU time while real
   busy tenants run (default: 4 tflite mobilenet_v2 tenants, one thread each) and the
   sampler runs at 2 Hz (children's CPU is theirs, not counted); the same run headless
   (no UI) is printed beside it;
3. first frame: spawn-to-first-frame of `edgemt` vs a minimal Textual app started the same
   way (a pseudo-terminal, 120x36, bytecode compiled), median of a few starts taken in turn;
4. key to screen at scale (``--many N``, default 2,000; issue 13): a live Session whose N
   thread tenants (``--groups`` SPECs of N/groups each) are the oracle child of
   tests/oracle (the real child program and protocol, batches of a known time: one a
   second here, so the tenants cost little CPU and the controller gets N windows a
   second, as from real ones), the UI on it (headless Pilot, 120x36). Once every tenant
   reports, keys are sent as a terminal sends them (down/up between group rows, enter to
   unfold a group of N/groups tenants and to fold it) and each is timed from the key
   event to the first screen update that shows its effect (the compositor's refresh,
   what the terminal is then sent). ``--keys-only`` runs just this part. ``--compare``
   times the UI as it was before the table's cell cache (issue 13: DataTable drawing
   every visible cell again after any change, an unfold recomputing every group's
   figures, full garbage collections at Python's default pace) beside the UI as it is,
   in turns of four keys in the same run, so both see the same load.

    .venv/bin/python bench/ui_responsiveness.py [--skip-live] [--starts N] [--tenants SPEC]
    .venv/bin/python bench/ui_responsiveness.py --keys-only [--many 2000] [--groups 4] [--compare]
"""
import argparse
import asyncio
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tui", "runners", "storage", "collectors", "themes")


def feed(app, tenants: int, seconds: int = 60, groups: int = None):
    from tui import messages as msg

    groups = groups or max(1, tenants // 4)
    for i in range(tenants):
        app.state.on_tenant(msg.TenantChanged(i + 1, i % groups + 1, "mobilenet_v2", "torch", "cpu", 1, "process",
                                              None, "running"))
    for s in range(seconds):
        for i in range(tenants):
            app.state.on_window(msg.WindowDone(i + 1, float(s), float(s + 1), 20 + i % 3, 20, 1,
                                               {"20": 10, "21": 10}))
        app.state.on_sample(msg.SampleTaken(float(s), {"cpu_percent": (50.0 + s % 7, "%", None),
                                                       "mem_percent": (30.0, "%", None)}))


async def refresh_cost(tenants: int, n: int = 40) -> float:
    from tui.app import make_app

    app = make_app({"theme": "edgemt-dark"}, info={"host": "bench", "run_id": 0}, save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        feed(app, tenants)
        await pilot.pause()
        times = []
        for k in range(n):
            app.state.on_clock(60.0 + k)  # something changed: a real redraw each time
            t = time.perf_counter()
            app.refresh_view()
            await pilot.pause()  # lets the compositor paint
            times.append(time.perf_counter() - t)
    return statistics.median(times)


async def live_cpu(spec: str, seconds: float = 15.0, ui: bool = True) -> tuple:
    """(process CPU % of one core, busy tenants, chart plots built) over ``seconds`` of a
    warm run of ``spec``, with the UI (headless Pilot, 120x36) or without it."""
    from runners import config
    from runners.spec import parse_spec
    from tui.app import make_app
    from tui.session import Session

    async def measure(pause):
        end = time.monotonic() + 180
        while any(t.status == "starting" for t in s.supervisor.all_tenants()) and time.monotonic() < end:
            await pause(0.2)
        await pause(2)
        c0, w0 = time.process_time(), time.monotonic()
        await pause(seconds)
        c1, w1 = time.process_time(), time.monotonic()
        busy = sum(1 for t in s.supervisor.all_tenants() if t.status == "running")
        return 100.0 * (c1 - c0) / (w1 - w0), busy

    with tempfile.TemporaryDirectory() as tmp:
        s = Session(Path(tmp) / "b.db", "bench", {}, config.load(), sample_hz=2.0)
        s.supervisor.hang_windows = 30
        if not ui:
            try:
                await s.supervisor.add_group(parse_spec(spec))
                cpu, busy = await measure(asyncio.sleep)
            finally:
                await s.close("done")
            return cpu, busy, 0
        app = make_app(config.load(), s, envs={}, edgetpus=[], save_theme=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await s.supervisor.add_group(parse_spec(spec))
            cpu, busy = await measure(pilot.pause)
            draws = app.query_one("#chart").draws
            await s.close("done")
    return cpu, busy, draws


async def key_to_screen(n: int, groups: int, presses: int = 20, compare: bool = False) -> dict:
    """Key-to-screen times (seconds) of ``presses`` keys with ``n`` live oracle tenants."""
    import gc

    global PYTHON_GC
    PYTHON_GC = gc.get_threshold()
    from runners import config
    from tui.app import make_app
    from tui.session import Session

    sys.path.insert(0, str(ROOT / "tests"))
    from oracle.oracle_env import OracleHome

    home = Path(tempfile.mkdtemp(prefix="edgemt-keys-"))
    oracle = OracleHome(home)
    oracle.model("*", base_s=1.0)  # one batch a second a tenant
    os.environ.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    cfg = config.load()
    s = Session(home / "keys.db", "bench", {"bench": "keys", "tenants": n}, cfg, window_s=1.0,
                logs_dir=home / "logs")
    s.supervisor.hang_windows = 30
    app = make_app(cfg, s, envs={}, edgetpus=[], save_theme=False)
    out = {"tenants": n, "groups": groups}
    async with app.run_test(size=(120, 36)):
        try:
            await _time_keys(app, s, n, groups, presses, out, compare)
        finally:
            if s.status == "running":
                await s.close("done")
    return out


PYTHON_GC = None  # the process's collection thresholds before the UI changed them


def _as_before(table, before: bool) -> None:
    """The UI as it was before the table's cell cache (``before``) or as it is: instance
    attributes shadow the class's methods (DataTable calls ``self._render_cell``), and
    the full collections go at Python's pace or the UI's (tui/app.py FULL_GC_AFTER)."""
    import gc
    import types

    from textual.widgets import DataTable

    from tui.app import FULL_GC_AFTER

    def unfold_recomputing(self):
        gid = self.selected_group
        if gid is not None:
            self.unfolded ^= {gid}
            self.show(self.app.state.groups())

    if before:
        table._render_cell = types.MethodType(DataTable._render_cell, table)
        table.action_unfold = types.MethodType(unfold_recomputing, table)
        gc.set_threshold(*PYTHON_GC)
    else:
        table.__dict__.pop("_render_cell", None)
        table.__dict__.pop("action_unfold", None)
        gc.set_threshold(PYTHON_GC[0], PYTHON_GC[1], max(PYTHON_GC[2], FULL_GC_AFTER))


async def _time_keys(app, s, n, groups, presses, out, compare=False):
    from textual import events

    from runners.spec import parse_spec

    table = app.query_one("#tenants")
    paints = []  # (time, cursor row, rows) of every screen update
    screen = app.screen
    refresh = screen._compositor_refresh

    def timed_refresh():
        refresh()
        paints.append((time.perf_counter(), table.cursor_row, table.row_count))

    screen._compositor_refresh = timed_refresh
    t0 = time.monotonic()
    per = n // groups
    models = ("mobilenet_v2", "squeezenet1_0", "resnet18", "alexnet", "resnet50", "vgg16")
    for i in range(groups):
        await s.supervisor.add_group(parse_spec(
            f"{models[i % len(models)]},framework=torch,isolation=thread,threads=1,count={per}"))
    sup = s.supervisor
    while not all(t.status == "running" and t.n_windows for t in sup.all_tenants()):
        if time.monotonic() - t0 > 600:
            raise SystemExit("the tenants did not all report within 600 s")
        await asyncio.sleep(0.5)
    out["running_after_s"] = round(time.monotonic() - t0, 1)
    print(f"{n} tenants running after {out['running_after_s']} s", file=sys.stderr)
    await asyncio.sleep(3)  # a few passes of n windows through the UI
    while table.row_count != groups:
        await asyncio.sleep(0.1)
    table.move_cursor(row=0)
    await asyncio.sleep(1)
    times = {"move": [], "unfold": [], "fold": []}
    before = {"move": [], "unfold": [], "fold": []}  # --compare: the table as it was
    c0, w0 = time.process_time(), time.monotonic()
    for k in range(presses):
        kind = ("move", "move", "unfold", "fold")[k % 4]
        as_before = compare and (k // 4) % 2 == 1
        if k % 4 == 0:
            _as_before(table, as_before)
        if kind == "move":
            key, want = ("down", lambda p: p[1] == 1) if table.cursor_row == 0 else ("up", lambda p: p[1] == 0)
        elif kind == "unfold":
            key, want = "enter", lambda p: p[2] > groups
        else:
            key, want = "enter", lambda p: p[2] == groups
        seen = len(paints)
        start = time.perf_counter()
        app._driver.send_message(events.Key(key, "\r" if key == "enter" else None))
        while True:
            hit = next((p for p in paints[seen:] if want(p)), None)
            if hit is not None:
                (before if as_before else times)[kind].append(hit[0] - start)
                break
            if time.perf_counter() - start > 10:
                raise SystemExit(f"no screen update showed {kind} within 10 s")
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.3 + 0.1 * (k % 3))  # keys at different phases of the 2 Hz refresh
    out["ui_process_cpu_percent"] = round(100 * (time.process_time() - c0) / (time.monotonic() - w0), 1)
    out["windows_per_s"] = round(sum(t.n_windows for t in sup.all_tenants()) / max(1e-9, sup.now()), 0)
    out["times"] = times
    if compare:
        out["before"] = before


def first_frame(argv, marker: bytes, env=None, timeout=60.0, quit_key=b"q") -> float:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                            start_new_session=True)
    os.close(slave)
    buf = b""
    took = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                buf += os.read(master, 65536)
            except OSError:
                break
            if marker in buf:
                took = time.perf_counter() - t0
                break
    os.write(master, quit_key)
    end = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                os.read(master, 65536)
            except OSError:
                break
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    os.close(master)
    return took


MINIMAL = ("from textual.app import App\nfrom textual.widgets import Static\n"
           "class A(App):\n    BINDINGS=[('q','quit','Quit')]\n"
           "    def compose(self):\n        yield Static('hello-first-frame')\nA().run()\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-live", action="store_true", help="leave out the CPU figure (needs the torch env)")
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--tenants", default="mobilenet_v2,framework=tflite,count=4,threads=1",
                    help="SPEC of the busy tenants of the CPU figure")
    ap.add_argument("--many", type=int, default=2000, help="tenants of the key-to-screen figure")
    ap.add_argument("--groups", type=int, default=4, help="groups (SPECs) the --many tenants come in")
    ap.add_argument("--presses", type=int, default=20, help="keys timed")
    ap.add_argument("--keys-only", action="store_true", help="only the key-to-screen figure")
    ap.add_argument("--compare", action="store_true",
                    help="key to screen: the table before its cell cache beside it, in turns, in one run")
    args = ap.parse_args()

    if args.keys_only:
        print_keys(asyncio.run(key_to_screen(args.many, args.groups, args.presses, args.compare)))
        return

    one = asyncio.run(refresh_cost(1))
    many = asyncio.run(refresh_cost(32))
    print(f"refresh, 1 tenant:   {one * 1000:.1f} ms")
    print(f"refresh, 32 tenants: {many * 1000:.1f} ms")
    print(f"ratio 32/1: {many / one:.2f}  (target <= 2)")

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, EDGEMT_DB=str(Path(tmp) / "ff.db"), XDG_CONFIG_HOME=str(Path(tmp) / "cfg"),
                   TERM="xterm-256color")
        # Compiled first, as after any install (pip compiles what it installs; Python writes
        # .pyc at a first import unless PYTHONDONTWRITEBYTECODE is set): textual's are.
        subprocess.run([sys.executable, "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, check=True)
        ours, base, pairs = [], [], []
        for i in range(args.starts):
            # interleaved, so both see the same load, and in turn first: a start right after
            # another one's exit measured ~10% slower here, whichever app it was
            runs = [([sys.executable, "-c", MINIMAL], b"hello-first-frame"), ([str(BIN / "edgemt"), "--new"], b"run ")]
            if i % 2:
                runs.reverse()
            took = {marker: first_frame(argv, marker, env) for argv, marker in runs}
            b, o = took[b"hello-first-frame"], took[b"run "]
            base.append(b)
            ours.append(o)
            if b and o:
                pairs.append(o / b)
        b, o = statistics.median([x for x in base if x]), statistics.median([x for x in ours if x])
        print(f"first frame, minimal Textual app: {b * 1000:.0f} ms")
        print(f"first frame, edgemt:              {o * 1000:.0f} ms")
        print(f"ratio: {o / b:.2f}; median of {len(pairs)} side-by-side pairs: {statistics.median(pairs):.2f}"
              f"  (target <= 1.5)")

    if not args.skip_live:
        headless, busy0, _ = asyncio.run(live_cpu(args.tenants, ui=False))
        cpu, busy, draws = asyncio.run(live_cpu(args.tenants))
        print(f"busy tenants: {args.tenants} (sampler 2 Hz, 15 s)")
        print(f"controller process CPU, headless:  {headless:.1f}% of one core ({busy0} tenants running)")
        print(f"controller+UI process CPU:         {cpu:.1f}% of one core ({busy} tenants running; "
              f"{draws} chart redraws)  (target < 5%)")
        print(f"UI beyond the headless controller: {cpu - headless:.1f}% of one core")
    print_keys(asyncio.run(key_to_screen(args.many, args.groups, args.presses, args.compare)))


def print_keys(r: dict) -> None:
    load = os.getloadavg()
    print(f"key to screen, {r['tenants']} live oracle tenants in {r['groups']} groups "
          f"(all running after {r['running_after_s']} s; {r['windows_per_s']:.0f} windows/s; "
          f"UI+controller process {r['ui_process_cpu_percent']}% of a core while keys were timed; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):")
    if "before" in r:
        print(" the UI before the table's cell cache and the spread full GC (turns of four keys in between):")
        _print_times(r["before"])
        print(" the UI now:")
    _print_times(r["times"])


def _print_times(times: dict) -> None:
    every = sorted(x for v in times.values() for x in v)
    for kind, v in times.items():
        if v:
            print(f"  {kind:<7} n={len(v):<3} median {statistics.median(v) * 1000:6.1f} ms   "
                  f"max {max(v) * 1000:6.1f} ms")
    print(f"  all     n={len(every):<3} median {statistics.median(every) * 1000:6.1f} ms   "
          f"p90 {every[int(0.9 * (len(every) - 1))] * 1000:6.1f} ms   max {every[-1] * 1000:6.1f} ms  (target < 100 ms)")


if __name__ == "__main__":
    main()
