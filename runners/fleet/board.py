"""The per-board actor: runs one ``edgemt run`` on its board and hands the head its rows.

Ray places one ``BoardRunner`` on each board of a plan (runners/fleet/head.py); it starts
the board's own ``edgemt run`` (the edgemt installed beside the Python that ``ray start``
ran with, the board's config.toml and framework environments) into a DB in the board's data
folder, ``fleet/<fleet id>-<board>.db``: the first copy, kept whatever happens to the link.
``poll`` returns what that DB holds beyond the head's cursors (storage/fleet_db.py), and the
run's exit status and summary once it has ended; ``stop`` is the run's Ctrl-C. The run
outlives the actor (the head keeps Ray from killing a worker's children as it exits): a
head that dies leaves it going, and a head started again attaches to it (``attach``; a
``start`` that finds the fleet's DB already there attaches too).

Nothing here imports Ray: the head wraps the class with ``ray.remote``.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from runners import paths
from runners.errors import BadInput
from storage.fleet_db import read_new_rows

# Set by Ray in its worker processes, not by the board's owner: a run must not inherit them
# (OMP_NUM_THREADS=1 would pin every framework's pool; an empty CUDA_VISIBLE_DEVICES hides
# a Jetson's GPU).
RAY_SET = ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
STOP_GRACE_S = 60.0
# an attached run's end, from its status (the exit statuses of docs/cli.md)
RUN_STATUS_EXIT = {"done": 0, "interrupted": 130, "failed": 3}


def edgemt_command() -> list:
    """The board's ``edgemt``: the script beside this interpreter (a venv's bin), else the module."""
    exe = Path(sys.executable).parent / "edgemt"
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)]
    return [sys.executable, "-m", "tui.cli"]


def _parent_env() -> dict:
    """The environment of the raylet that started this worker (``ray start``'s), if readable."""
    try:
        raw = Path(f"/proc/{os.getppid()}/environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep:
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


def run_env() -> dict:
    env = dict(os.environ)
    parent = _parent_env()
    for key in RAY_SET:
        if parent and key not in parent:
            env.pop(key, None)
        elif parent:
            env[key] = parent[key]
    return env


def _plain_signals():
    """In the board's run, before exec: a Ray worker's thread blocks signals, and a blocked
    mask is inherited, so the run's Ctrl-C (SIGINT from stop()) would never arrive."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


class BoardRunner:
    """One board's part of a plan (a Ray actor; see the module's docstring)."""

    def __init__(self, board: str, fleet_id: str):
        self.board = board
        self.db = paths.data_dir() / "fleet" / f"{fleet_id}-{board}.db"
        self.proc = None
        self.started = None

    def where(self) -> dict:
        return {"board": self.board, "db": str(self.db), "hostname": socket.gethostname(), "pid": os.getpid()}

    def clock(self) -> float:
        """This board's wall clock (the head measures its offset from the round trip)."""
        return time.time()

    def start(self, run_args: list, start_at: float = None) -> dict:
        """Starts ``edgemt RUN_ARGS --db BOARD_DB --json`` (RUN_ARGS: the command and its
        options, e.g. ``run --tenant ...``), at ``start_at`` on this board's
        clock when given (a synchronised start); returns ``where()`` with ``launched_at``
        (this board's clock when the run's process was started)."""
        self.db.parent.mkdir(parents=True, exist_ok=True)
        if self.db.exists():  # a head started again: this fleet's run was started here before
            return self.attach()
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        with open(self.db.with_suffix(".out"), "wb") as out, open(self.db.with_suffix(".err"), "wb") as err:
            self.proc = subprocess.Popen(edgemt_command() + list(run_args) + ["--db", str(self.db), "--json"],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=run_env(),
                                         start_new_session=True,  # the head's Ctrl-C comes through stop()
                                         preexec_fn=_plain_signals)
        self.started = time.time()
        return {**self.where(), "launched_at": self.started}

    def attach(self) -> dict:
        """Joins a run an earlier actor started on this board (the board came back after its
        Ray node was lost, or a head was started again after one died; the run went on
        there): ``poll`` then reads its DB, and its end is its run's status there."""
        return self.where()

    def poll(self, cursors: dict) -> dict:
        """{"rows": new rows, "exit": the run's status or None, "db": the board's file, and once it
        has ended "summary" (its --json output) and "stderr" (the last lines)}."""
        code = self.proc.poll() if self.proc else None  # before the read: rows written before the exit come now
        try:
            rows = read_new_rows(str(self.db), cursors)
        except BadInput:  # the run has not made its tables yet
            rows = {}
        died = None
        if self.proc is None:  # attached: the run's status in its DB says whether it has ended
            statuses = [r[rows["runs"][0].index("status")] for r in rows["runs"][1]] if rows else []
            if statuses and "running" not in statuses:
                code = max(RUN_STATUS_EXIT.get(s, 1) for s in statuses)
            elif statuses and not self._alive(rows):
                # killed without a word (its status left 'running'): ended, not waited for forever
                code, died = 1, "the board's run ended without marking its run (killed?)"
        out = {"rows": rows, "exit": code, "db": str(self.db), "board_time": time.time()}
        if code is not None:
            out["summary"] = self._read(".out")
            out["stderr"] = died or "\n".join(self._read(".err").splitlines()[-5:])
        return out

    @staticmethod
    def _alive(rows) -> bool:
        """Whether a 'running' run of the board DB (``read_new_rows``) still has its process."""
        cols, runs = rows["runs"]
        for r in runs:
            if r[cols.index("status")] == "running":
                try:
                    os.kill(int(r[cols.index("controller_pid")]), 0)
                except PermissionError:  # another user's: alive
                    return True
                except (OSError, TypeError, ValueError):
                    continue
                return True
        return False

    def _run_pid(self):
        """The pid of the board's run that writes ``self.db`` (its ``runs.controller_pid``)."""
        try:
            rows = read_new_rows(str(self.db), {}, limit=0)
        except BadInput:
            return None
        if not rows:
            return None
        cols, runs = rows["runs"]
        pids = [r[cols.index("controller_pid")] for r in runs if r[cols.index("status")] == "running"]
        return pids[0] if pids else None

    def _read(self, suffix: str) -> str:
        try:
            return self.db.with_suffix(suffix).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        """The run's Ctrl-C (it stops its tenants and marks itself interrupted); SIGKILL after
        ``grace_s``. Returns its exit status."""
        if self.proc is None:  # attached: the run's process is the board's, started before
            pid = self._run_pid()
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGINT)
                except OSError:
                    pass
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode
