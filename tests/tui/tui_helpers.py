"""Helpers of the UI tests (imported by name: tests/ is not a package)."""
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
REPLAY_DB = DATA / "replay.db"
# Host facts injected into replayed headers so snapshots do not depend on this machine.
FIXED_INFO = {"host": "testboard", "cpu": "ARMv8 rev 1 (v8l)", "cores": 4, "memory": "3.9 GB", "gpus": "none",
              "edgetpus": "none", "frameworks": "-", "db": "replay.db"}


def probed_envs(*frameworks) -> dict:
    """The probe answers of the given frameworks (the add/move forms' choices)."""
    from runners import config, environments, probe

    cfg = config.load()
    out = {}
    for fw in frameworks:
        choice = environments.find_python(fw, cfg)
        out[fw] = probe.probe(fw, choice.python) if choice else "no environment"
    return out


async def late_widgets_drawn(pilot, tries: int = 60) -> None:
    """Waits (3 s at most) until what mounts after the first frame has drawn: the chart's
    plot (unless the layout hides the chart) and the events log."""
    chart, events = pilot.app.query_one("#chart"), pilot.app.query_one("#events")
    for _ in range(tries):
        if (chart.draws or not chart.display) and events.log_widget is not None:
            return
        await pilot.pause(0.05)


async def settle(pilot) -> None:
    """Until what mounts after the first frame (the chart's plot, the events log) has drawn."""
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.app.workers.wait_for_complete()
    await late_widgets_drawn(pilot)
    await pilot.pause()


async def columns_widened(pilot, table, tries: int = 100) -> None:
    """Waits (5 s at most) until each auto-width column of a DataTable is as wide as its
    widest cell: the table widens its columns on an idle pass after rows arrive, which
    a loaded machine may not have had by the time the rows are there."""
    from rich.text import Text

    def widened() -> bool:
        for key, col in table.columns.items():
            cells = [c if isinstance(c, Text) else Text(str(c)) for c in table.get_column(key)]
            if col.auto_width and col.content_width < max((c.cell_len for c in cells), default=0):
                return False
        return True

    for _ in range(tries):
        if widened():
            return
        await pilot.pause(0.05)


async def wait_for(pilot, cond, timeout: float = 90.0, what: str = "condition", app=None):
    """Polls ``cond()`` while the app runs; fails with ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if cond():
                return
        except Exception:
            pass
        await pilot.pause(0.2)
    app = app or pilot.app
    seen = [(g.label, g.state, g.count, g.placement) for g in app.state.groups()]
    events = [e[1] if e[1] != "failed" else f"failed: {e[3].get('reason')}" for e in app.state.events][-12:]
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; groups {seen}; events {events}")


def group_row(app, gid):
    for g in app.state.groups():
        if g.id == gid:
            return g
    return None




REPO_EDGEMT = str(Path(__import__("sys").executable).parent / "edgemt")


# -- driving the real `edgemt` in tmux ----------------------------------------------------------
def tmux(*args, check=True):
    import subprocess

    return subprocess.run(["tmux", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)


def pane(name):
    return tmux("capture-pane", "-p", "-t", name, check=False).stdout


def wait_pane(name, text, timeout=120):
    """The pane's text once ``text`` shows in it; fails with what it shows after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = pane(name)
        if text in out:
            return out
        time.sleep(0.3)
    raise AssertionError(f"{text!r} did not appear in {timeout} s; the pane shows:\n{pane(name)}")
