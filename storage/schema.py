"""The SQLite schema of the run log, its version, and opening a file safely.

``PRAGMA user_version`` holds SCHEMA_VERSION. A file from a newer edgemt is refused with
one clear line rather than written to; a file that is not SQLite is refused the same way.
The tables are documented in docs/schema.md.
"""
import sqlite3
from pathlib import Path

from runners.errors import BadInput

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- run | sweep-batch | sweep-concurrency | dmp | tune | ui | ...
    started TEXT NOT NULL,         -- wall clock, ISO 8601 UTC
    ended TEXT,
    status TEXT NOT NULL,          -- running | done | interrupted | failed
    controller_pid INTEGER,
    t0_monotonic REAL,             -- the controller's monotonic clock at run start
    host TEXT,                     -- fingerprint JSON
    params TEXT                    -- parameters JSON
);
CREATE TABLE IF NOT EXISTS tenants (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id),
    group_id INTEGER NOT NULL,
    model TEXT NOT NULL,
    framework TEXT NOT NULL,
    resource TEXT NOT NULL,
    batch INTEGER NOT NULL,
    isolation TEXT NOT NULL,       -- process | thread
    threads INTEGER,
    moved_from INTEGER REFERENCES tenants(id),
    started REAL,                  -- seconds since run start
    ended REAL,
    status TEXT NOT NULL,          -- starting | running | paused | stopped | failed
    error TEXT,
    runner_pid INTEGER,
    weights TEXT,                  -- random | pretrained | file
    runtime TEXT,                  -- the library that ran it (e.g. ai_edge_litert)
    images_skipped INTEGER,
    spec TEXT                      -- the full SPEC JSON
);
CREATE TABLE IF NOT EXISTS windows (
    id INTEGER PRIMARY KEY,
    tenant INTEGER NOT NULL REFERENCES tenants(id),
    t_start REAL NOT NULL,         -- seconds since run start
    t_end REAL NOT NULL,
    images INTEGER NOT NULL,
    batches INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    hist TEXT NOT NULL             -- sparse latency histogram JSON (runners/child/latency.py)
);
CREATE INDEX IF NOT EXISTS windows_tenant ON windows(tenant, t_start);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id),
    t REAL NOT NULL                -- seconds since run start; one column per metric is added as it appears
);
CREATE INDEX IF NOT EXISTS samples_run ON samples(run, t);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id),
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    tenant INTEGER,
    detail TEXT                    -- JSON
);
CREATE INDEX IF NOT EXISTS events_run ON events(run, t);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id),
    experiment TEXT NOT NULL,
    key TEXT NOT NULL,             -- JSON
    value TEXT NOT NULL            -- JSON
);
"""

SQLITE_MAGIC = b"SQLite format 3\x00"


def check_path(path: Path) -> None:
    """Raises BadInput when ``path`` cannot hold an edgemt DB (before anything starts)."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"--db {path} is a folder; give a file path such as {path / 'edgemt.db'}")
    if path.exists():
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_MAGIC:
            raise BadInput(f"--db {path} is not an SQLite database; give a new path or an edgemt DB")
        if not _writable(path):
            raise BadInput(f"--db {path} is not writable; give a path in a folder you can write to")
    else:
        parent = path.parent if str(path.parent) else Path(".")
        probe = parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not _writable(probe) or (probe.exists() and not probe.is_dir()):
            raise BadInput(f"--db {path}: folder {parent} is not writable; give a path in a folder you can write to")


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


def connect(path, readonly: bool = False) -> sqlite3.Connection:
    """Opens (creating if needed) an edgemt DB in WAL mode; refuses newer schemas."""
    path = Path(path)
    if not readonly:
        check_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"file:{path}?mode=ro" if readonly else str(path)
    try:
        conn = sqlite3.connect(uri, uri=readonly, check_same_thread=False, timeout=10)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"--db {path} is not a readable SQLite database ({exc})") from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise BadInput(
            f"--db {path} has schema version {version}, newer than this edgemt's {SCHEMA_VERSION}: "
            "upgrade edgemt or give another --db"
        )
    if not readonly:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(DDL)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.commit()
        except sqlite3.DatabaseError as exc:  # full disk, file size limit, read-only file
            conn.close()
            raise BadInput(f"--db {path} cannot be written: {exc}") from None
        try:
            path.chmod(0o644)  # never world-writable
        except OSError:
            pass
    conn.row_factory = sqlite3.Row
    return conn
