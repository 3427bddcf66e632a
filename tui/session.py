"""One run's machinery, shared by the headless commands and the UI.

A Session opens the DB (marking runs of dead controllers ``interrupted``), records the
run with its host fingerprint, starts the sampler (its snapshots become ``samples``
rows on the run's clock) and builds the Supervisor. Closing it stops every tenant,
stops the sampler, ends the run and flushes the DB.
"""
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


def libedgetpu_version() -> dict:
    """libedgetpu as the host has it: the Debian package (std or max clock) and the library
    file; ``{"package": None, "library": None}`` where it is not installed."""
    import ctypes.util
    import shutil
    import subprocess

    out = {"package": None, "library": ctypes.util.find_library("edgetpu")}
    if shutil.which("dpkg-query"):
        for pkg in ("libedgetpu1-std", "libedgetpu1-max", "libedgetpu1-legacy-std", "libedgetpu1-legacy-max"):
            try:
                r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}|${Version}", pkg],
                                   capture_output=True, text=True, timeout=3)
            except Exception:
                continue
            if r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout:
                out["package"] = f"{pkg} {r.stdout.split('|', 1)[1]}"
                break
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


class Session:
    def __init__(self, db: Path, kind: str, params: dict, cfg: dict = None, *, images: str = None,
                 include_transfer: bool = False, window_s: float = None, sample_hz: float = None,
                 collectors=None, checker=None, logs_dir: Path = None):
        # imported here: the UI draws its first frame before it builds a Session
        from runners.placement import PlacementChecker
        from runners.supervisor import Supervisor
        from storage.store import Store

        self.cfg = cfg if cfg is not None else config_mod.load()
        self.db = Path(db)
        self.store = Store(self.db)
        self.interrupted = self.store.mark_interrupted()
        self.window_s = float(window_s or self.cfg["window_s"])
        if collectors is None:
            from collectors.registry import default_collectors

            collectors = default_collectors()
        self.t0 = time.monotonic()
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
        self.status = "running"

    def _on_snapshot(self, snap):
        self.store.add_sample(self.run_id, snap.t - self.t0, snap.values())

    async def close(self, status: str = "done"):
        await self.supervisor.shutdown()
        if self.sampler is not None:
            self.sampler.stop(close=True)
        self.store.end_run(self.run_id, status)
        self.store.close()
        self.status = status


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
