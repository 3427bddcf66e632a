"""One runner child (``RunnerProcess``) and the watchdog over a run's runners.

A RunnerProcess starts ``PYTHON -u runners/child --framework F`` in its own session,
writes protocol commands to its stdin and reads its reports (runners/child/wire.py); it
knows nothing of its owner and tells it what happens through the callbacks it is given
(``on_report``, ``on_bad_report``, ``on_exit``). ``watch`` is the loop that kills a hung
runner and reports a silent tenant (``on_silent``). The Supervisor owns both.
"""
import asyncio
import os
import time
from pathlib import Path
from typing import Callable

from runners.child import wire
from runners.probe import child_command


class RunnerProcess:
    """One runner child: its process, its reader task, the tenants it hosts."""

    def __init__(self, framework: str, python: str, log_path: Path, extra_env: dict = None, *,
                 on_report: Callable[["RunnerProcess", dict], None],
                 on_bad_report: Callable[["RunnerProcess", dict, Exception], None],
                 on_exit: Callable[["RunnerProcess"], None]):
        # what the owner (the Supervisor) is told: each protocol report, a report its
        # on_report could not handle (the reader goes on), and the process's exit
        self.on_report = on_report
        self.on_bad_report = on_bad_report
        self.on_exit = on_exit
        self.framework = framework
        self.python = python
        self.log_path = log_path
        self.extra_env = dict(extra_env or {})
        self.proc = None
        self.tenants = set()
        self.hello = None
        self.last_report = time.monotonic()
        self.last_window = None  # time.monotonic() of its last window report (its reporter is alive)
        self.last_t1 = None  # the latest window end it reported, on the run's clock
        self.exited = asyncio.Event()
        self.returncode = None
        self.killed_reason = None
        self.cpu_seen = None  # CPU ticks at the watchdog's last look (hang detection)
        self.stopping = False  # killed because it did not stop when the run ended
        self.stop_sent = False  # asked to exit ({"cmd": "stop"}): exiting with status 0 then is clean

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    async def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *child_command(self.python, self.framework), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, limit=1 << 20,
                # The child checks its parent is still this process once its death signal is
                # armed: a controller killed in between would otherwise leave it running.
                env={**os.environ, "EDGEMT_PARENT_PID": str(os.getpid()), **self.extra_env},
                # Its own session: a terminal's SIGHUP or Ctrl-C (sent to the foreground process
                # group) reaches the controller only, which stops its tenants cleanly (or keeps
                # them running with --keep-running). Children still die with the controller
                # (PR_SET_PDEATHSIG, stdin EOF).
                start_new_session=True,
            )
        finally:
            log.close()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    def send(self, obj: dict) -> bool:
        if obj.get("cmd") == "stop" and obj.get("tenant") is None:
            self.stop_sent = True
        if self.proc is None or self.proc.returncode is not None or self.exited.is_set():
            return False
        try:
            self.proc.stdin.write(wire.encode(obj).encode())
            return True
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False

    async def _read(self):
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                msg = wire.decode(line.decode(errors="replace"))
                if msg is not None:
                    self.last_report = time.monotonic()
                    try:
                        self.on_report(self, msg)
                    except Exception as exc:  # a bad report must not kill the reader
                        self.on_bad_report(self, msg, exc)
        finally:
            self.returncode = await self.proc.wait()
            self.exited.set()
            self.on_exit(self)

    def kill(self, reason: str):
        self.killed_reason = reason
        if self.proc and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    def log_lines(self, n: int = 40) -> list:
        """The last ``n`` lines of the child's log (stderr)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, 2)
                fh.seek(max(0, fh.tell() - 16384))
                return fh.read().decode(errors="replace").splitlines()[-n:]
        except OSError:
            return []

    def stderr_tail(self, n: int = 1) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return " | ".join(lines[-n:])[-300:]


def _proc_state(pid):
    """(state letter, CPU clock ticks used) of a process from /proc, or (None, None)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None, None


async def watch(runners: set, running_of: Callable[["RunnerProcess"], list], window_s: float,
                hang_windows: int, on_silent: Callable[[object, float], None]) -> None:
    """Stops runners that stopped reporting, and tenants that stopped sending windows: runs
    until cancelled, looking once a window. ``running_of(runner)`` gives a runner's running
    tenants (each with ``last_seen``, ``settling``, ``heard_why``); ``on_silent(tenant,
    quiet_s)`` fails a silent one; a hung runner is killed here, and its exit reaches its
    owner through the runner's ``on_exit``.

    A runner with a running tenant that sent nothing for 3 windows is hung if it is
    stopped (SIGSTOP) or made no CPU progress since the last check. One still burning
    CPU is only starved (an overloaded board) and gets up to ten times longer before it
    counts as hung, so load alone does not kill tenants.

    A running tenant whose runner reports (other tenants' windows) but that sent no
    window for 3 windows since its last window, its warm-up or a resume is silent: it
    fails with that reason and is told to stop. After a batch change (re-preparing its
    inputs) it gets ten times longer. Every running tenant is watched: none is exempt
    because of a recent resume (issue 11, defect 1).
    """
    limit = hang_windows * window_s + 0.5
    while True:
        await asyncio.sleep(window_s)
        now = time.monotonic()
        for r in list(runners):
            running = running_of(r)
            # a tenant re-preparing after a batch change is owed a window only after 10 x limit
            due = [t for t in running if not t.settling or now - (t.last_seen or now) > 10 * limit]
            silent = now - r.last_report
            if not due or silent <= limit:
                r.cpu_seen = None
                # A tenant is silent only when its runner's windows went on past it on the
                # grid: the runner reported windows ending more than the limit after the
                # tenant was last heard of (``heard_t``, run clock). 'loaded' and 'warm' of
                # other tenants come from their own threads, and a controller or reporter
                # behind on an overloaded machine delivers a pass's windows late but
                # together (issue 13).
                windows_flow = r.last_window is not None and now - r.last_window <= limit
                if silent <= limit and windows_flow:
                    for t in due:
                        quiet = now - (t.last_seen or now)
                        heard_t = getattr(t, "heard_t", None)
                        behind = r.last_t1 - heard_t if heard_t is not None and r.last_t1 is not None else quiet
                        if quiet > limit and behind > limit:
                            on_silent(t, quiet)
                continue
            state, cpu = _proc_state(r.pid)
            stopped = state in ("T", "t")
            first_look = r.cpu_seen is None
            progressing = cpu is not None and not first_look and cpu > r.cpu_seen
            r.cpu_seen = cpu
            if not stopped and cpu is not None and (first_look or progressing) and silent <= 10 * limit:
                continue  # look again one window later: is it using CPU at all?
            why = f"hung: no report from runner {r.pid} for {hang_windows} windows; stopped"
            r.kill(why)
