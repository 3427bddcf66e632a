"""One run's machinery and its lifecycle, shared by the headless commands and the UI.

A Session opens the DB (marking runs of dead controllers ``interrupted``), records the
run with its host fingerprint, starts the sampler (its snapshots become ``samples``
rows on the run's clock) and builds the Supervisor. Closing it stops every tenant,
stops the sampler, ends the run and flushes the DB.

Used as ``async with Session(...) as session:`` it owns the whole lifecycle in one place:
on the way in it takes SIGINT, SIGTERM and SIGHUP (each sets ``session.stop`` and is kept
in ``session.stopped_by``; a DB the disk stops taking sets it too); on the way out it sets
the run's final status (``failed`` when the body raised, ``interrupted`` when it was
stopped, else ``done``; the body may say otherwise with ``session.outcome``), closes the
run and gives the signals back to their defaults. ``edgemt run``, the experiment commands
and the UI's live run all go through it: the UI enters it before its first frame, opens
the Session in a thread once that frame is drawn (``defer_open``, ``open``), and while it is
on screen hands the Session a hook (``on_signal``) that decides what a signal does there.
"""
import asyncio
import math
import signal
import time
from pathlib import Path

from runners import config as config_mod
from runners import paths


def edgetpu_lister(sysfs_root: str = "/sys"):
    """A function listing EdgeTPU resources from sysfs (imported only when a SPEC asks)."""

    def lister():
        from collectors.edgetpu import enumerate_edgetpus

        return enumerate_edgetpus(sysfs_root)

    return lister


LIBEDGETPU_PACKAGES = ("libedgetpu1-std", "libedgetpu1-max", "libedgetpu1-legacy-std", "libedgetpu1-legacy-max")


def libedgetpu_version() -> dict:
    """libedgetpu as the host has it: the Debian package (std or max clock) and the library
    file; ``{"package": None, "library": None}`` where it is not installed.

    Looked up once per process (one host, one process): the lookup starts ``ldconfig -p``,
    then ``gcc`` and ``ld`` where the library is missing (ctypes.util.find_library), and
    ``dpkg-query``, ~0.1 s at every run's start; a process that starts many runs (the UI,
    an experiment, a fleet board's worker) pays it once."""
    global _LIBEDGETPU
    if _LIBEDGETPU is None:
        _LIBEDGETPU = _look_up_libedgetpu()
    return dict(_LIBEDGETPU)


_LIBEDGETPU = None


def _look_up_libedgetpu(dpkg_query: str = "dpkg-query") -> dict:
    import ctypes.util
    import shutil
    import subprocess

    out = {"package": None, "library": ctypes.util.find_library("edgetpu")}
    exe = shutil.which(dpkg_query)
    if exe:
        # One query for the four names (it lists those it knows, exit 1 if any is unknown).
        try:
            r = subprocess.run([exe, "-W", "-f", "${Package}|${Status}|${Version}\n", *LIBEDGETPU_PACKAGES],
                               capture_output=True, text=True, timeout=3)
            lines = r.stdout.splitlines()
        except Exception:
            lines = []
        found = {}
        for line in lines:
            parts = line.split("|", 2)
            if len(parts) == 3 and "installed" in parts[1] and "not-installed" not in parts[1]:
                found[parts[0]] = parts[2]
        pkg = next((p for p in LIBEDGETPU_PACKAGES if p in found), None)
        if pkg is not None:
            out["package"] = f"{pkg} {found[pkg]}"
    return out


def host_fingerprint(collectors=()) -> dict:
    """The board and its state at the start (collectors/fingerprint.py; ``collectors`` give
    the power and thermal state at start), with libedgetpu. Framework versions are added
    by the Supervisor as the children say hello."""
    try:
        from collectors.fingerprint import fingerprint

        fp = fingerprint(collectors=collectors or ())
        fp["libedgetpu"] = libedgetpu_version()
        return fp
    except Exception as exc:  # the fingerprint is information; a run never fails for it
        import platform

        return {"machine": platform.machine(), "kernel": platform.release(), "error": str(exc)}


def grid_origin(now: float, window_s: float, grid_at: float = None) -> float:
    """The run's clock origin (``time.monotonic()``): ``now``, or with ``grid_at`` (a later
    monotonic instant, ``edgemt run --measure-at``) the latest instant at or before ``now``
    from which ``grid_at`` is a whole number of windows, so that a window edge, where a
    measured phase starts, falls on it. The origin is then at most one window before now."""
    if grid_at is None or grid_at <= now:
        return now
    return grid_at - math.ceil((grid_at - now) / window_s - 1e-9) * window_s


def wall_clock_of(t0: float, t: float) -> float:
    """The wall-clock instant (``time.time()``) of ``t`` seconds on the run clock whose origin
    is the monotonic instant ``t0``."""
    return time.time() - (time.monotonic() - (t0 + t))


class Session:
    def __init__(self, db: Path, kind: str, params: dict, cfg: dict = None, *, images: str = None,
                 include_transfer: bool = False, window_s: float = None, sample_hz: float = None,
                 collectors=None, checker=None, logs_dir: Path = None, grid_at: float = None,
                 defer_open: bool = False):
        self.cfg = cfg if cfg is not None else config_mod.load()
        self.db = Path(db)
        self.status = "starting"  # "running" once open
        self.stop = None  # an asyncio.Event, made on the way into ``async with``
        self.stopped_by = []  # the signals that stopped the run, first first
        self.outcome = None  # the final status the body chose (None: decided on the way out)
        # while set, every signal the Session takes is handed to it instead (the UI on screen)
        self.on_signal = None
        self._stop_signals = dict(STOP_SIGNALS)
        self._ignored_signals = ()
        self._db_error_stops = True
        self._installed = []
        self._closing = None  # the close in progress or done (an asyncio future)
        self._opened = False
        self._open_args = (kind, params, images, include_transfer, window_s, sample_hz, collectors, checker,
                           logs_dir, grid_at)
        if not defer_open:
            self.open()

    def open(self) -> "Session":
        """Opens the run: the DB, the run's row with the host fingerprint, the placement
        checker, the Supervisor and the sampler. Done by the constructor unless
        ``defer_open`` (the UI enters the Session's lifecycle first, draws its first frame,
        then opens it in a thread: tui/app_main.py)."""
        # imported here: the UI draws its first frame before it opens the Session
        from runners.placement import PlacementChecker
        from runners.supervisor import Supervisor
        from storage.store import Store

        (kind, params, images, include_transfer, window_s, sample_hz, collectors, checker, logs_dir,
         grid_at) = self._open_args
        self.store = Store(self.db)
        self.interrupted = self.store.mark_interrupted()
        self.window_s = float(window_s or self.cfg["window_s"])
        if collectors is None:
            from collectors.registry import default_collectors

            collectors = default_collectors()
        self.t0 = grid_origin(time.monotonic(), self.window_s, grid_at)
        self.run_id = self.store.create_run(kind, params, host_fingerprint(collectors), t0_monotonic=self.t0)
        self.checker = checker or PlacementChecker(self.cfg, edgetpu_lister())
        self.supervisor = Supervisor(
            self.store, self.run_id, python_for=self.checker.python_for, window_s=self.window_s, images=images,
            include_transfer=include_transfer, placement_checker=self.checker, t0=self.t0,
            logs_dir=logs_dir or logs_for(self.db),
        )
        self.sampler = None
        if collectors:
            from collectors.sampler import Sampler

            # ticks on the grid of the runner windows (same epoch): each sample's interval
            # lies inside one window when a window is a whole number of sampling periods
            self.sampler = Sampler(collectors, hz=float(sample_hz or self.cfg["sample_hz"]),
                                   on_snapshot=self._on_snapshot, epoch=self.t0)
            self.sampler.start()
        self._opened = True
        self.status = "running"
        return self

    def _on_snapshot(self, snap):
        self.store.add_sample(self.run_id, snap.t - self.t0, snap.values())

    # -- the lifecycle ------------------------------------------------------------------------
    def handling(self, stop=None, ignore=(), db_error_stops: bool = True) -> "Session":
        """Which signals stop the run (default ``STOP_SIGNALS``), which are ignored while it
        is in ``async with`` (the UI's run detached from a lost terminal ignores SIGHUP),
        and whether a DB the disk stops taking stops it (``edgemt run``: yes)."""
        if stop is not None:
            self._stop_signals = {sig: STOP_SIGNALS.get(sig, sig.name) for sig in stop}
        self._ignored_signals = tuple(ignore)
        self._db_error_stops = db_error_stops
        return self

    def request_stop(self, sig=None) -> None:
        """Stops the run's body (``session.stop``); ``sig`` is remembered for the messages."""
        if sig is not None:
            self.stopped_by.append(sig)
        if self.stop is not None:
            self.stop.set()

    def _take_signal(self, sig) -> None:
        # the UI on screen decides what a signal does (tui/app.py says "stopping every
        # tenant…" and closes the run through ``close``); otherwise a stop signal stops
        # the body and an ignored one does nothing
        if self.on_signal is not None:
            self.on_signal(sig)
        elif sig in self._stop_signals:
            self.request_stop(sig)

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def stop_signal_name(self, default: str = "the user") -> str:
        """How the messages name what stopped the run: ``SIGINT (Ctrl-C)``, ``SIGTERM``, ..."""
        return self._stop_signals.get(self.stopped_by[0], STOP_SIGNALS.get(self.stopped_by[0], default)) \
            if self.stopped_by else default

    async def __aenter__(self) -> "Session":
        loop = asyncio.get_running_loop()
        if self.stop is None:
            self.stop = asyncio.Event()
        handlers = [(sig, self._take_signal, (sig,)) for sig in list(self._stop_signals) + list(self._ignored_signals)]
        self._installed = install_signals(loop, handlers)
        if self._db_error_stops and self._opened:
            # A DB the disk stops taking (full, size limit, read-only, I/O error) stops the run:
            # measuring on without recording would lose every figure from then on.
            self.store.on_error = lambda message: loop.call_soon_threadsafe(self.request_stop)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            status = "failed"
        elif self.outcome is not None:
            status = self.outcome
        else:
            status = "interrupted" if self.stopped else "done"
        try:
            await self.close(status)
        finally:
            # after the close: a second Ctrl-C while the tenants stop must not break the close
            restore_signals(asyncio.get_running_loop(), self._installed)
            self._installed = []
        return False

    async def close(self, status: str = "done"):
        """Stops every tenant, stops the sampler, ends the run with ``status`` and flushes the
        DB; once (a second call waits for the first and changes nothing). A Session never
        opened has nothing to close."""
        if not self._opened:
            return
        if self._closing is None:
            self.status = "closing"
            self._closing = asyncio.ensure_future(self._close(status))
        await self._closing

    async def _close(self, status: str):
        try:
            await self.supervisor.shutdown()
            if self.sampler is not None:
                self.sampler.stop(close=True)
            self.store.end_run(self.run_id, status)
            self.store.close()
        finally:
            self.status = status


# The signals that stop a run, as the messages name them (docs/cli.md, exit status 130).
STOP_SIGNALS = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (terminal lost)"}


def install_signals(loop, handlers) -> list:
    """Installs ``(signal, callback, args)`` handlers on ``loop``; returns what
    ``restore_signals`` needs to give each signal back its handler from before. Where the
    loop cannot take signals (not the main thread, Windows) nothing is installed. A signal
    ignored when this is called stays ignored, as Unix programs do: ``nohup`` asked the run
    to outlive the terminal (SIGHUP), a background job of a script ignores Ctrl-C (SIGINT)."""
    installed = []
    for sig, callback, args in handlers:
        before = signal.getsignal(sig)
        if before == signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(sig, callback, *args)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append((sig, before))
    return installed


def restore_signals(loop, installed) -> None:
    """Gives each signal of ``install_signals`` back the handler it had before (the one of
    ``asyncio.run`` for SIGINT on Python 3.11+, else the default: KeyboardInterrupt)."""
    for sig, before in installed:
        try:
            loop.remove_signal_handler(sig)
            # a handler another add_signal_handler put there cannot be put back from the
            # outside (asyncio keeps it privately): the default is left instead
            if (callable(before) and getattr(before, "__name__", "") != "_sighandler_noop") \
                    or before in (signal.SIG_DFL, signal.SIG_IGN):
                signal.signal(sig, before)
        except (NotImplementedError, RuntimeError, ValueError):
            pass


def logs_for(db: Path) -> Path:
    """The children's log folder of one DB: run ids restart in every DB, so the folder is
    named after the DB (its stem and a hash of its absolute path)."""
    import hashlib

    digest = hashlib.sha1(str(Path(db).absolute()).encode()).hexdigest()[:8]
    return paths.logs_dir() / f"{Path(db).stem}-{digest}"


def resolve_db(arg: str = None, cfg: dict = None) -> Path:
    if arg is not None and not arg.strip():  # `--db "$DB"` with DB unset must not mean the default DB
        from runners.errors import BadInput

        raise BadInput("--db '' is empty; give a file path such as edgemt.db")
    if arg:
        return Path(arg).expanduser()
    cfg = cfg or {}
    if cfg.get("db"):
        return Path(cfg["db"]).expanduser()
    return paths.default_db()


def db_flag(arg: str = None, cfg: dict = None) -> str:
    """Where the DB path came from, as messages name it: --db, EDGEMT_DB or config.toml's db."""
    import os

    if arg:
        return "--db"
    if (cfg or {}).get("db"):
        return "db in config.toml"
    if os.environ.get("EDGEMT_DB"):
        return "EDGEMT_DB"
    return "--db"
