"""The writer of the run log: one connection, one lock, committed at least every second.

The supervisor (asyncio thread) and the sampler thread both write through one Store.
Writes are cheap appends inside an open transaction; a flusher thread commits every
``commit_s`` (0.5 s), so at most the last half second is lost if the controller is
killed, and the file always passes ``PRAGMA integrity_check`` (WAL).

A write that the disk refuses (full disk, file size limit, read-only file, I/O error)
never raises into the supervisor or the sampler: the Store keeps what it committed
before, drops every later write, sets ``error`` and calls ``on_error(message)`` once, so
the caller can stop the run with one clear line (see docs/reliability.md).
"""
import json
import os
import socket
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from storage import reads, schema
from storage.errors import BadInput


class StorageError(BadInput):
    """The DB cannot be written (raised only where nothing has started yet)."""


# One histogram bucket's JSON text from its (key, count) item (map() of it skips a
# generator frame a bucket: ~20% of the histogram's text at 2,000 windows a second).
_BUCKET = '"%s":%d'.__mod__

# Marks a pending entry that is (statement, list of rows) rather than (statement, row).
_MANY = object()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _transient(exc) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _pid_alive(pid: int) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """Writes runs, tenants, windows, samples, events and results to one SQLite file."""

    def __init__(self, path, commit_s: float = 0.5):
        self.path = Path(path)
        self.conn = schema.connect(self.path)
        self._lock = threading.RLock()
        self._dirty = False
        self._closed = False
        # Hot appends (windows, samples, events) wait here and are written in one short
        # transaction per flush: the write lock is held for milliseconds, so a second
        # controller on the same DB (a UI beside a headless run) gets its turn.
        self._pending = []
        self._update_sql = {}  # tenant fields -> UPDATE statement (see update_tenant)
        self._sample_columns = {r[1] for r in self.conn.execute("PRAGMA table_info(samples)")}
        self._commit_s = commit_s
        self.error = None  # the first write error; from then on writes are dropped
        self.on_error = None  # callable(message), called once, from whichever thread wrote
        self._flusher = threading.Thread(target=self._flush_loop, name="edgemt-db-flush", daemon=True)
        self._flusher.start()

    # -- housekeeping -------------------------------------------------------------
    def _flush_loop(self):
        while not self._closed:
            time.sleep(self._commit_s)
            self.flush()

    def flush(self):
        with self._lock:
            if self._closed or self.error is not None or not (self._pending or self._dirty):
                return
            pending, self._pending = self._pending, []
            try:
                # runs of one statement (windows, mostly) go in one executemany: the
                # statement is prepared once per run, not once per row
                i = 0
                while i < len(pending):
                    sql = pending[i][0]
                    if sql is _MANY:  # a batch of rows of one statement (add_windows)
                        self.conn.executemany(*pending[i][1])
                        i += 1
                        continue
                    j = i + 1
                    while j < len(pending) and pending[j][0] is sql:
                        j += 1
                    if j - i == 1:
                        self.conn.execute(sql, pending[i][1])
                    else:
                        self.conn.executemany(sql, [args for _, args in pending[i:j]])
                    i = j
                self.conn.commit()
                self._dirty = False
            except sqlite3.OperationalError as exc:
                if _transient(exc):  # another writer holds the lock: keep the rows, try next time
                    try:
                        self.conn.rollback()
                    except sqlite3.Error:
                        pass
                    self._pending = pending + self._pending
                    return
                self._write_failed(exc)
            except sqlite3.DatabaseError as exc:
                self._write_failed(exc)

    def close(self):
        with self._lock:
            if self._closed:
                return
            for _ in range(20):  # a second writer may hold the lock for a moment
                self.flush()
                if not self._pending or self.error is not None:
                    break
                time.sleep(0.5)
            self._closed = True
            schema.close_writer(self.conn)

    def _write_failed(self, exc):
        """Records the first refused write (under the lock); keeps what was committed."""
        if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            raise exc  # a bug in edgemt, not the disk
        first = self.error is None
        if first:
            self.error = str(exc) or type(exc).__name__
        try:
            self.conn.rollback()
        except sqlite3.Error:
            pass
        if first and self.on_error is not None:
            try:
                self.on_error(self.error)
            except Exception:  # noqa: BLE001 - the caller's hook must not break the writer
                pass

    def _exec(self, sql, args=()):
        """Runs one statement now and commits it (runs, tenants, results: rare, and ids are
        needed at once); returns lastrowid."""
        with self._lock:
            if self.error is not None:
                return None
            try:
                cur = self.conn.execute(sql, args)
                self.conn.commit()
            except sqlite3.DatabaseError as exc:
                self._write_failed(exc)
                return None
            return cur.lastrowid

    def _queue(self, sql, args=()):
        """Appends a row to the next flush (windows, samples, events)."""
        with self._lock:
            if self.error is None and not self._closed:
                self._pending.append((sql, args))

    def mark_interrupted(self) -> list:
        """Marks runs left 'running' by a controller that is gone; returns their ids."""
        with self._lock:
            rows = self.conn.execute("SELECT id, controller_pid FROM runs WHERE status = 'running'").fetchall()
            gone = [r["id"] for r in rows if not _pid_alive(r["controller_pid"])]
            for run_id in gone:
                self.conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended = COALESCE(ended, ?) WHERE id = ?",
                    (_now_iso(), run_id),
                )
                self.conn.execute(
                    "UPDATE tenants SET status = 'stopped' WHERE run = ? AND status IN ('starting','running','paused')",
                    (run_id,),
                )
            self.conn.commit()
            return gone

    # -- runs -----------------------------------------------------------------------
    def create_run(self, kind: str, params: dict, host: dict = None, t0_monotonic: float = None) -> int:
        host = dict(host or {})
        host.setdefault("hostname", socket.gethostname())
        run_id = self._exec(
            "INSERT INTO runs (kind, started, status, controller_pid, t0_monotonic, host, params) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?)",
            (kind, _now_iso(), os.getpid(), t0_monotonic, json.dumps(host), json.dumps(params)),
        )
        self.flush()
        if self.error is not None:
            raise StorageError(f"--db {self.path} cannot be written: {self.error}")
        return run_id

    def end_run(self, run_id: int, status: str) -> None:
        self._exec("UPDATE runs SET status = ?, ended = ? WHERE id = ?", (status, _now_iso(), run_id))
        self.flush()

    def update_run_params(self, run_id: int, params: dict) -> None:
        self._exec("UPDATE runs SET params = ? WHERE id = ?", (json.dumps(params), run_id))

    def update_run_host(self, run_id: int, key: str, value) -> None:
        """Sets one key of the run's fingerprint (``runs.host`` JSON), e.g. the framework
        versions the runner children report in their ``hello``."""
        with self._lock:
            row = self.conn.execute("SELECT host FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return
            try:
                host = json.loads(row[0] or "{}") or {}
            except ValueError:
                host = {}
            host[key] = value
            self._exec("UPDATE runs SET host = ? WHERE id = ?", (json.dumps(host), run_id))

    # -- tenants ----------------------------------------------------------------------
    TENANT_FIELDS = (
        "group_id", "model", "framework", "resource", "batch", "isolation", "threads",
        "moved_from", "started", "ended", "status", "error", "runner_pid", "weights",
        "runtime", "images_skipped", "spec",
    )

    def add_tenant(self, run_id: int, **fields) -> int:
        return self.add_tenants(run_id, [fields])[0]

    def add_tenants(self, run_id: int, rows: list) -> list:
        """Inserts tenant rows (dicts of TENANT_FIELDS) in one transaction; returns their ids
        (a group of 2,000 tenants is one commit, not 2,000). None for each if the disk refused."""
        with self._lock:
            if self.error is not None:
                return [None] * len(rows)
            ids = []
            try:
                for fields in rows:
                    cols = [k for k in self.TENANT_FIELDS if k in fields]
                    vals = [json.dumps(fields[k]) if k == "spec" else fields[k] for k in cols]
                    cur = self.conn.execute(
                        f"INSERT INTO tenants (run, {', '.join(cols)}) VALUES (?, {', '.join('?' for _ in cols)})",
                        [run_id, *vals])
                    ids.append(cur.lastrowid)
                self.conn.commit()
            except sqlite3.DatabaseError as exc:
                self._write_failed(exc)
                return [None] * len(rows)
            return ids

    def update_tenant(self, tenant_id: int, **fields) -> None:
        """Changes a tenant's row in the next flush (within ``commit_s``): 2,000 tenants
        stopping are one transaction, not 2,000 commits."""
        key = tuple(fields)
        sql = self._update_sql.get(key)
        if sql is None:
            bad = set(fields) - set(self.TENANT_FIELDS)
            if bad:
                raise ValueError(f"unknown tenant fields {bad}")
            # one string object per set of fields: flush() groups runs of it in executemany
            sql = self._update_sql[key] = f"UPDATE tenants SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?"
        self._queue(sql, (*fields.values(), tenant_id))

    # -- measurements --------------------------------------------------------------------
    WINDOW_SQL = "INSERT INTO windows (tenant, t_start, t_end, images, batches, batch, hist) VALUES (?,?,?,?,?,?,?)"

    QUERY_WINDOW_SQL = ("INSERT INTO windows (tenant, t_start, t_end, images, batches, batch, hist, scheduled, "
                        "started, completed, dropped, within_slo, queue, lag_sum, lag_max, lag_hist, qhist) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

    def add_window(self, tenant_id, t_start, t_end, images, batches, batch, hist, queries=None) -> None:
        # 2,000 tenants send 2,000 windows a second: the histogram ({"bucket": count}, short)
        # is written out by hand, at a tenth of json.dumps' cost; same text as json.dumps
        # with compact separators.
        text = "{%s}" % ",".join(map(_BUCKET, hist.items())) if hist else "{}"
        if queries is None:
            self._queue(self.WINDOW_SQL, (tenant_id, t_start, t_end, images, batches, batch, text))
            return
        q = queries
        self._queue(self.QUERY_WINDOW_SQL, (
            tenant_id, t_start, t_end, images, batches, batch, text, q["scheduled"], q["started"], q["completed"],
            q["dropped"], q.get("within"), q["queue"], q["lag_sum"], q["lag_max"],
            json.dumps(q["lag_hist"], separators=(",", ":")), json.dumps(q["qhist"], separators=(",", ":"))))

    def add_windows(self, rows) -> None:
        """Closed-loop windows, each ``(tenant_id, t_start, t_end, images, batches, batch,
        hist)``, queued under one lock: a reporter pass of 2,000 tenants is one call."""
        # One pending entry for the whole pass (its rows go to one executemany), not one
        # entry a row: flush() would otherwise walk and re-list 2,000 entries a second.
        many = [(tid, t_start, t_end, images, batches, batch,
                 "{%s}" % ",".join(map(_BUCKET, hist.items())) if hist else "{}")
                for tid, t_start, t_end, images, batches, batch, hist in rows]
        if not many:
            return
        with self._lock:
            if self.error is None and not self._closed:
                self._pending.append((_MANY, (self.WINDOW_SQL, many)))

    def add_sample(self, run_id: int, t: float, values: dict) -> None:
        """One row of metrics; a metric seen for the first time becomes a new REAL column."""
        with self._lock:
            if self.error is not None:
                return
            try:
                self._add_sample(run_id, t, values)
            except sqlite3.DatabaseError as exc:
                self._write_failed(exc)

    def _add_sample(self, run_id: int, t: float, values: dict) -> None:
        new = [n for n in values if n not in self._sample_columns and n.replace("_", "").isalnum()]
        if new:  # metric names are identifiers; anything else is not stored
            self.flush()  # queued rows first, then the new columns in a short transaction of their own
            # another controller writing this DB may have added them already
            self._sample_columns = {r[1] for r in self.conn.execute("PRAGMA table_info(samples)")}
            new = [n for n in new if n not in self._sample_columns]
            for name in new:
                try:
                    self.conn.execute(f'ALTER TABLE samples ADD COLUMN "{name}" REAL')
                except sqlite3.OperationalError as exc:
                    # "duplicate column": the other writer added it first, nothing to do
                    if "duplicate column" not in str(exc):
                        raise
                self._sample_columns.add(name)
            self.conn.commit()
        names = [n for n in values if n in self._sample_columns]
        cols = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        sql = f"INSERT INTO samples (run, t{', ' if names else ''}{cols}) VALUES (?, ?{', ' if names else ''}{marks})"
        self._pending.append((sql, [run_id, t, *[values[n] for n in names]]))

    def add_event(self, run_id: int, t: float, kind: str, tenant: int = None, detail: dict = None) -> None:
        self._queue(
            "INSERT INTO events (run, t, kind, tenant, detail) VALUES (?,?,?,?,?)",
            (run_id, t, kind, tenant, json.dumps(detail or {})),
        )

    def add_result(self, run_id: int, experiment: str, key: dict, value: dict) -> None:
        self._exec(
            "INSERT INTO results (run, experiment, key, value) VALUES (?,?,?,?)",
            (run_id, experiment, json.dumps(key, sort_keys=True), json.dumps(value)),
        )
        self.flush()

    # -- reads (for the UI and summaries; readers may also open their own connection) ------
    def windows_between(self, tenant_id: int, since: float = None, until: float = None) -> list:
        """One tenant's whole windows inside ``[since, until]`` (either None: open), with the
        tolerance of ``storage.aggregate.EPS``, oldest first, as ``storage.aggregate.Window``:
        what the supervisor no longer keeps in memory."""
        from storage.aggregate import EPS, Window

        sql = ("SELECT t_start, t_end, images, batches, hist, scheduled, started, completed, dropped, within_slo, "
               "queue, lag_sum, lag_max, lag_hist, qhist FROM windows WHERE tenant = ?")
        args = [tenant_id]
        if since is not None:
            sql += " AND t_start >= ?"
            args.append(since - EPS)
        if until is not None:
            sql += " AND t_end <= ?"
            args.append(until + EPS)
        from storage.queries import from_row

        return [Window(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}, from_row(r[5:]))
                for r in self._read(sql + " ORDER BY t_start", args)]

    def window_totals_before(self, tenant_id: int, t: float):
        """(images, batches) of a tenant's windows starting before ``t``, and the first
        start at or after ``t`` (None if none)."""
        (i, b), = self._read("SELECT COALESCE(SUM(images), 0), COALESCE(SUM(batches), 0) FROM windows "
                             "WHERE tenant = ? AND t_start < ?", (tenant_id, t))
        (first,), = self._read("SELECT MIN(t_start) FROM windows WHERE tenant = ? AND t_start >= ?", (tenant_id, t))
        return i, b, first

    def window_totals_through(self, tenant_id: int, t: float):
        """(images, batches) of a tenant's windows ending by ``t``, and the last such end."""
        return tuple(self._read("SELECT COALESCE(SUM(images), 0), COALESCE(SUM(batches), 0), MAX(t_end) "
                                "FROM windows WHERE tenant = ? AND t_end <= ?", (tenant_id, t))[0])

    def _read(self, sql, args) -> list:
        """Rows of a read, queued writes included; once the Store is closed (a summary
        printed after the run ended), through a read-only connection of its own."""
        with self._lock:
            if not self._closed:
                self.flush()
                return self.conn.execute(sql, args).fetchall()
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def latest_run(self):
        with self._lock:
            self.flush()
            return reads.latest_run(self.conn)

    def run_row(self, run_id: int):
        """The ``runs`` row of ``run_id`` (a dict), or None."""
        with self._lock:
            self.flush()
            return reads.run(self.conn, run_id)

    def samples_around(self, run_id: int, since: float, until: float) -> list:
        """``storage.reads.samples_around`` on this run log, queued samples included."""
        with self._lock:
            self.flush()
            return reads.samples_around(self.conn, run_id, since, until)


def _running_runs(path) -> list:
    """Runs marked 'running', each with ``alive``: whether its controller still runs."""
    conn = schema.connect(path, readonly=True)
    try:
        rows = reads.running_runs(conn)
    finally:
        conn.close()
    return [dict(r, alive=_pid_alive(r["controller_pid"])) for r in rows]


def dead_runs(path) -> list:
    """Ids of runs left 'running' by controllers that are gone, read without writing."""
    return [r["id"] for r in _running_runs(path) if not r["alive"]]


def live_runs(path) -> list:
    """Runs in progress: marked 'running' and their controller alive (id, kind, started,
    controller_pid), read without writing."""
    return [{k: v for k, v in r.items() if k != "alive"} for r in _running_runs(path) if r["alive"]]


def mark_interrupted_runs(path) -> list:
    """Marks runs of dead controllers in an existing DB as interrupted; returns their ids.

    The DB is opened for writing only when there is such a run: a command that only
    reads leaves the file's bytes as they were."""
    if not dead_runs(path):
        return []
    st = Store(path)
    try:
        return st.mark_interrupted()
    finally:
        st.close()
