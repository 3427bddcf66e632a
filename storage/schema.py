"""The SQLite schema of the run log, its version, and opening a file safely.

An edgemt DB carries ``PRAGMA application_id`` = APPLICATION_ID ("EDMT") and ``PRAGMA
user_version`` = its schema version. edgemt writes only to a new file (missing, empty, or
an SQLite file with no tables at all) or to a file it recognises as its own; anything
else (another program's database, a file from a newer edgemt, a file that is not SQLite)
is refused with one clear line before a single byte is written. A DB made before
application ids were set (version 1, only edgemt's tables) is recognised by its tables
and stamped with the id the next time edgemt writes to it. Commands that only read open
the file read-only, so reading never changes it. The tables are documented in docs/schema.md.
"""
import sqlite3
from pathlib import Path

from storage.errors import BadInput

APPLICATION_ID = 0x45444D54  # "EDMT": `file` and `sqlite3 DB 'PRAGMA application_id'` show it
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
    -- + WINDOW_QUERY_COLUMNS (open-loop tenants; NULL for closed loop), added by ensure_columns
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

# An open-loop tenant's queries in a window (docs/schema.md, storage/queries.py). Added to a
# DB made before them when edgemt next writes it (as samples' metric columns are): nullable,
# so a closed-loop window and an older edgemt reading the file are unaffected.
WINDOW_QUERY_COLUMNS = (
    ("scheduled", "INTEGER"), ("started", "INTEGER"), ("completed", "INTEGER"), ("dropped", "INTEGER"),
    ("within_slo", "INTEGER"), ("queue", "INTEGER"), ("lag_sum", "REAL"), ("lag_max", "REAL"),
    ("lag_hist", "TEXT"), ("qhist", "TEXT"),
)


def ensure_columns(conn: sqlite3.Connection) -> None:
    """Adds the columns of WINDOW_QUERY_COLUMNS a DB lacks (a writer's connection)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(windows)")}
    for name, kind in WINDOW_QUERY_COLUMNS:
        if name not in have:
            try:
                conn.execute(f"ALTER TABLE windows ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another writer added it first
                    raise


def has_query_columns(conn) -> bool:
    """Whether the DB's windows have the open-loop columns (a DB older than them has not)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(windows)")}
    return all(name in have for name, _ in WINDOW_QUERY_COLUMNS)


SQLITE_MAGIC = b"SQLite format 3\x00"
TABLES = ("runs", "tenants", "windows", "samples", "events", "results")


def check_path(path: Path, flag: str = "--db") -> None:
    """Raises BadInput when ``path`` cannot hold an edgemt DB (before anything starts).

    ``flag`` names the option the path came from (``--db``, ``--out``) in the message."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{flag} {path} is a folder; give a file path such as {path / 'edgemt.db'}")
    if path.exists():
        if not path.is_file():
            raise BadInput(f"{flag} {path} is not a regular file; give a file path such as edgemt.db")
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise BadInput(f"{flag} {path} cannot be read: {exc.strerror or exc}") from None
        if head and head != SQLITE_MAGIC:
            raise BadInput(f"{flag} {path} is not an SQLite database; give a new path or an edgemt DB")
        if not _writable(path):
            raise BadInput(f"{flag} {path} is not writable; give a path in a folder you can write to")
    else:
        parent = path.parent if str(path.parent) else Path(".")
        probe = parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not _writable(probe) or (probe.exists() and not probe.is_dir()):
            raise BadInput(f"{flag} {path}: folder {parent} is not writable; give a path in a folder you can write to")


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


def _ro_uri(path: Path) -> str:
    # as_uri() percent-encodes '?', '#' and '%', which a hand-made "file:" URI would misread
    return Path(path).absolute().as_uri() + "?mode=ro"


def identify(path, flag: str = "--db") -> str:
    """What ``path`` holds, read without writing a byte: "new" (missing, empty, or an SQLite
    file without tables), "edgemt" (ours, or a pre-application-id edgemt DB: "legacy").
    Anything else raises BadInput naming ``flag``."""
    path = Path(path)
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return "new"
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BadInput(f"{flag} {path} is not a readable SQLite database ({exc})") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        runs_cols = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"{flag} {path} is not a readable SQLite database ({exc})") from None
    finally:
        conn.close()
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise BadInput(f"{flag} {path} has schema version {version}, newer than this edgemt's {SCHEMA_VERSION}: "
                           f"upgrade edgemt or give another {flag}")
        return "edgemt"
    if app_id == 0 and version == 0 and not names:
        return "new"
    own = sorted(n for n in names if not n.startswith("sqlite_"))
    if app_id == 0 and version == SCHEMA_VERSION and own and set(own) <= set(TABLES) \
            and {"id", "kind", "controller_pid", "t0_monotonic"} <= runs_cols:
        return "legacy"
    if app_id == 0 and version > SCHEMA_VERSION and set(own) <= set(TABLES):
        raise BadInput(f"{flag} {path} has schema version {version}, newer than this edgemt's {SCHEMA_VERSION}: "
                       f"upgrade edgemt or give another {flag}")
    held = ", ".join(own[:6]) + (", ..." if len(own) > 6 else "")
    whose = f"application id {app_id:#x}, " if app_id else ""
    hint = f"give another {flag}" if flag.startswith("--") else "give edgemt DBs"
    raise BadInput(f"{flag} {path} is another program's SQLite database ({whose}tables: {held or 'none'}); "
                   f"edgemt writes only to a new file or its own DB: {hint}")


def close_writer(conn: sqlite3.Connection) -> None:
    """Closes a writing connection, leaving the file in rollback-journal mode at rest.

    A DB at rest in WAL mode makes every read-only open create ``-wal`` and ``-shm`` files
    beside it (which a read-only connection cannot remove), so reading would leave files
    behind. The switch needs the file to itself: when another controller still has it
    open (a UI beside a headless run) it fails, and the last one to close switches it."""
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error:
        pass
    conn.close()


def connect(path, readonly: bool = False, flag: str = "--db") -> sqlite3.Connection:
    """Opens an edgemt DB in WAL mode, creating a new one if needed; refuses a file that is
    not edgemt's, or is from a newer edgemt, before writing anything. ``readonly`` opens
    an existing edgemt DB without ever writing to it."""
    path = Path(path)
    if readonly:
        if not path.exists():
            raise BadInput(f"{flag} {path} does not exist; give an edgemt DB")
        if identify(path, flag) == "new":
            raise BadInput(f"{flag} {path} holds no edgemt data (an empty file); give an edgemt DB")
        try:
            conn = sqlite3.connect(_ro_uri(path), uri=True, check_same_thread=False, timeout=10)
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BadInput(f"{flag} {path} is not a readable SQLite database ({exc})") from None
        conn.row_factory = sqlite3.Row
        return conn
    check_path(path, flag)
    identify(path, flag)  # raises for anything that is not new or edgemt's
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(DDL)
        ensure_columns(conn)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.commit()
    except sqlite3.DatabaseError as exc:  # full disk, file size limit, read-only file
        try:
            conn.close()
        except (NameError, sqlite3.Error):
            pass
        raise BadInput(f"{flag} {path} cannot be written: {exc}") from None
    try:
        path.chmod(0o644)  # never world-writable
    except OSError:
        pass
    conn.row_factory = sqlite3.Row
    return conn
