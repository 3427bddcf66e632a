"""UI responsiveness, measured side by side in one run; prints its figures.

1. refresh cost: one full redraw (table, resources, chart, header) with 32 tenants vs 1,
   windows fed through the real messages and widgets (headless, 120x36);
2. UI process CPU beyond the tenants: the controller+UI process's own CPU time while real
   busy tenants run (default: 4 tflite mobilenet_v2 tenants, one thread each) and the
   sampler runs at 2 Hz (children's CPU is theirs, not counted); the same run headless
   (no UI) is printed beside it;
3. first frame: spawn-to-first-frame of `edgemt` vs a minimal Textual app started the same
   way (a pseudo-terminal, 120x36, bytecode compiled), median of a few starts taken in turn.

    .venv/bin/python bench/ui_responsiveness.py [--skip-live] [--starts N] [--tenants SPEC]
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


def feed(app, tenants: int, seconds: int = 60):
    from tui import messages as msg

    groups = max(1, tenants // 4)
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
    args = ap.parse_args()

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


if __name__ == "__main__":
    main()
