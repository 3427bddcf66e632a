"""The fleet DB: the rows of many boards' runs, sent while they run, in one edgemt DB.

A board runs ``edgemt run`` into its own DB (the first copy: a lost link loses nothing
there). ``read_new_rows`` reads, on the board, what its DB holds beyond the head's cursors
(every ``runs`` and ``tenants`` row, whose status and end change; the ``windows``,
``samples``, ``events`` and ``results`` rows past the last id the head has), in one read
transaction so a window never arrives before its tenant. ``FleetDB.apply``, on the head,
writes them with new ids the way ``edgemt merge`` does (storage/merge.py ``insert_rows``
and ``remap_result``: the same remapping of runs, tenants, ``moved_from`` and the tenant
ids inside results) and keeps, per board, which board id became which fleet id, so a row
sent twice is written once. Each fleet run's ``params`` gains ``fleet`` = {board, run
(its id on the board), db (the board's file), plan, id (the fleet's: one ``edgemt fleet
run``)}: the board of every row is its run's
``json_extract(params, '$.fleet.board')``. The run's ``controller_pid`` is the head's, so
a head that dies leaves its runs marked ``interrupted`` at the next start of edgemt.

What the head has copied of each board (its cursors and which board id became which fleet
id) is kept in ``params.fleet.copied``, in the same transaction as the rows: a head started
again on the same plan and DB after one died (``unfinished``) picks the fleet up with
``resume`` and asks each board for what it lacks, each row once. A head that ended (done,
lost boards, Ctrl-C) says so with ``params.fleet.head_done`` (``finish``).
"""
import json
import os
import sqlite3
from datetime import datetime, timezone
from typing import Dict, Tuple

from storage import schema
from storage.errors import BadInput
from storage.merge import insert_rows, remap_result

STREAMED = ("windows", "samples", "events", "results")  # append-only: sent past a cursor
TENANT_STATE = ("batch", "threads", "started", "ended", "status", "error", "runner_pid", "runtime",
                "images_skipped")


def _cols(conn, table):
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def read_new_rows(path, cursors: Dict[str, int], limit: int = 5000) -> Dict[str, Tuple[list, list]]:
    """{table: (columns, rows)} of the board DB ``path`` beyond ``cursors`` ({table: last id
    the head has}); at most ``limit`` rows of each streamed table (the rest comes next time).
    An empty dict while the board's run has not created its DB yet."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return {}
    conn = schema.connect(path, readonly=True, flag="board DB")
    conn.row_factory = None
    try:
        conn.execute("BEGIN")  # one snapshot: a window never comes without its tenant
        out = {}
        if "runs" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
            return {}
        for table in ("runs", "tenants"):
            out[table] = (_cols(conn, table), [list(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")])
        for table in STREAMED:
            rows = conn.execute(f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                                (int(cursors.get(table, 0)), limit)).fetchall()
            out[table] = (_cols(conn, table), [list(r) for r in rows])
        conn.execute("COMMIT")
        return out
    finally:
        conn.close()


class FleetDB:
    """The head's writer of the fleet DB (one per ``edgemt fleet run``)."""

    def __init__(self, path, flag: str = "--db", plan: str = None, fleet_id: str = None):
        self.path = path
        self.plan = plan
        self.fleet_id = fleet_id
        self.conn = schema.connect(path, flag=flag)
        self.conn.row_factory = None
        self.runs: Dict[str, Dict[int, int]] = {}  # board -> {board run id: fleet run id}
        self.tenants: Dict[str, Dict[int, int]] = {}
        self.cursors: Dict[str, Dict[str, int]] = {}  # board -> {table: last board id written}
        self.info: Dict[str, dict] = {}  # board -> more for params.fleet (clock offset, launch)

    def cursor(self, board: str) -> Dict[str, int]:
        return dict(self.cursors.get(board, {}))

    def apply(self, board: str, batch: Dict[str, Tuple[list, list]], board_db: str = None) -> Dict[str, int]:
        """Writes one batch of ``read_new_rows`` from ``board``; returns the rows written per table."""
        runs = self.runs.setdefault(board, {})
        tenants = self.tenants.setdefault(board, {})
        cur = self.cursors.setdefault(board, {})
        counts = {t: 0 for t in schema.TABLES}
        if not batch:
            return counts
        try:
            cols, rows = batch.get("runs", ([], []))
            for rec in (dict(zip(cols, r)) for r in rows):
                params = json.loads(rec.get("params") or "{}")
                params["fleet"] = {"board": board, "run": rec["id"], "db": board_db, "plan": self.plan,
                                   "id": self.fleet_id, **self.info.get(board, {})}
                rec["params"] = json.dumps(params)
                rec["controller_pid"] = os.getpid()
                if rec["id"] in runs:
                    self.conn.execute("UPDATE runs SET ended = ?, status = ?, params = ? WHERE id = ?",
                                      (rec["ended"], rec["status"], rec["params"], runs[rec["id"]]))
                else:
                    runs.update(insert_rows(self.conn, "runs", cols, [rec], {}))
                    counts["runs"] += 1
            cols, rows = batch.get("tenants", ([], []))
            new = [dict(zip(cols, r)) for r in rows if r[cols.index("id")] not in tenants]
            for rec in (dict(zip(cols, r)) for r in rows if r[cols.index("id")] in tenants):
                sets = [c for c in TENANT_STATE if c in rec]
                self.conn.execute(f"UPDATE tenants SET {', '.join(c + ' = ?' for c in sets)} WHERE id = ?",
                                  [rec[c] for c in sets] + [tenants[rec["id"]]])
            new = [r for r in new if r["run"] in runs]
            added = insert_rows(self.conn, "tenants", cols, new, {"run": runs.get, "moved_from": lambda _v: None})
            tenants.update(added)
            for rec in new:  # moved_from points at tenants of the same run: set once all are known
                if rec.get("moved_from") is not None:
                    self.conn.execute("UPDATE tenants SET moved_from = ? WHERE id = ?",
                                      (tenants.get(rec["moved_from"]), added[rec["id"]]))
            counts["tenants"] = len(added)
            remaps = {
                "windows": {"tenant": tenants.get},
                "samples": {"run": runs.get},
                "events": {"run": runs.get, "tenant": lambda v: tenants.get(v, v)},
                "results": {"run": runs.get, "value": lambda v: remap_result(v, tenants)},
            }
            for table in STREAMED:
                cols, rows = batch.get(table, ([], []))
                seen = cur.get(table, 0)  # a batch sent twice (a retried poll) is written once
                recs = [dict(zip(cols, r)) for r in rows if r[cols.index("id")] > seen]
                key = "tenant" if table == "windows" else "run"
                known = tenants if table == "windows" else runs
                recs = [r for r in recs if r[key] in known]  # the snapshot holds its parents: always true
                counts[table] = len(insert_rows(self.conn, table, cols, recs, remaps[table]))
                if rows:
                    cur[table] = max(cur.get(table, 0), max(r[cols.index("id")] for r in rows))
            self._save_copied(board)
            self.conn.commit()
        except sqlite3.DatabaseError as exc:
            self.conn.rollback()
            raise BadInput(f"--db {self.path} cannot be written: {exc}") from None
        except BaseException:  # half a batch is never kept: its cursor did not move
            self.conn.rollback()
            self._forget(board, runs, tenants)
            raise
        return counts

    def _save_copied(self, board: str) -> None:
        """``params.fleet.copied`` of the board's runs: what a head started again needs."""
        copied = json.dumps({"cursors": self.cursors.get(board, {}),
                             "runs": {str(k): v for k, v in self.runs.get(board, {}).items()},
                             "tenants": {str(k): v for k, v in self.tenants.get(board, {}).items()}})
        for run_id in self.board_runs(board):
            self.conn.execute("UPDATE runs SET params = json_set(params, '$.fleet.copied', json(?)) WHERE id = ?",
                              (copied, run_id))

    def resume(self, board: str, copied: dict, info: dict) -> None:
        """Takes up what an earlier head copied of ``board`` (``unfinished``): its ids and
        cursors, and what it measured of the board (``info``: clock offset, launch)."""
        self.runs[board] = {int(k): int(v) for k, v in (copied.get("runs") or {}).items()}
        self.tenants[board] = {int(k): int(v) for k, v in (copied.get("tenants") or {}).items()}
        self.cursors[board] = {k: int(v) for k, v in (copied.get("cursors") or {}).items()}
        self.info[board] = dict(info)

    def unfinished(self, plan: str):
        """The latest fleet of the plan file ``plan`` in this DB whose head did not end (it
        died): {"id", "head_pid", "boards": {board: {"copied", "info"}}}, or None."""
        fleets = {}
        for run_id, pid, params in self.conn.execute("SELECT id, controller_pid, params FROM runs ORDER BY id"):
            try:
                fleet = (json.loads(params or "{}") or {}).get("fleet")
            except (ValueError, AttributeError):
                continue
            if not isinstance(fleet, dict) or not fleet.get("board") or not fleet.get("plan"):
                continue
            if os.path.abspath(str(fleet["plan"])) != os.path.abspath(str(plan)):
                continue
            f = fleets.setdefault(fleet_id_of(fleet), {"last": 0, "done": False, "head_pid": pid, "boards": {}})
            f["last"] = run_id
            f["done"] = f["done"] or bool(fleet.get("head_done"))
            info = {k: v for k, v in fleet.items() if k not in ("board", "run", "db", "plan", "id", "copied")}
            f["boards"][fleet["board"]] = {"copied": fleet.get("copied") or {}, "info": info}
        if not fleets:
            return None
        fid, f = max(fleets.items(), key=lambda kv: kv[1]["last"])
        if f["done"] or fid is None:
            return None
        return {"id": fid, "head_pid": f["head_pid"], "boards": f["boards"]}

    def finish(self) -> None:
        """The head ended (done, lost boards or Ctrl-C): ``params.fleet.head_done``."""
        for board in list(self.runs):
            self.set_info(board, {**self.info.get(board, {}), "head_done": True})

    def _forget(self, board, runs, tenants) -> None:
        """After a rollback: the ids of rows that are no longer there."""
        for mapping, table in ((tenants, "tenants"), (runs, "runs")):
            for old, new in list(mapping.items()):
                if self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (new,)).fetchone() is None:
                    del mapping[old]

    def set_info(self, board: str, info: dict) -> None:
        """What the head measured of ``board`` (clock offset, round trip, launch time): kept
        in ``params.fleet`` of its runs, now and as they come."""
        self.info[board] = dict(info)
        for run_id in self.board_runs(board):
            (params,) = self.conn.execute("SELECT params FROM runs WHERE id = ?", (run_id,)).fetchone()
            p = json.loads(params or "{}")
            p.setdefault("fleet", {}).update(info)
            self.conn.execute("UPDATE runs SET params = ? WHERE id = ?", (json.dumps(p), run_id))
        self.conn.commit()

    def board_runs(self, board: str):
        """The fleet run ids of ``board``'s runs."""
        return sorted(self.runs.get(board, {}).values())

    def mark_lost(self, board: str, reason: str) -> list:
        """A board that left mid-plan: its runs still 'running' become 'interrupted' (their
        windows stay), with a ``board_lost`` event. Returns the run ids marked."""
        marked = []
        for run_id in self.board_runs(board):
            (status,) = self.conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if status != "running":
                continue
            (t,) = self.conn.execute("SELECT COALESCE(MAX(t_end), 0) FROM windows WHERE tenant IN "
                                     "(SELECT id FROM tenants WHERE run = ?)", (run_id,)).fetchone()
            self.conn.execute("UPDATE runs SET status = 'interrupted', ended = COALESCE(ended, ?) WHERE id = ?",
                              (datetime.now(timezone.utc).isoformat(timespec="seconds"), run_id))
            self.conn.execute("UPDATE tenants SET status = 'stopped' WHERE run = ? AND status IN "
                              "('starting', 'running', 'paused')", (run_id,))
            self.conn.execute("INSERT INTO events (run, t, kind, tenant, detail) VALUES (?, ?, 'board_lost', NULL, ?)",
                              (run_id, t, json.dumps({"board": board, "reason": reason})))
            marked.append(run_id)
        self.conn.commit()
        return marked

    def note(self, board: str, kind: str, detail: dict) -> None:
        """An event of the fleet (``board_back``) on each of ``board``'s runs, at its last window."""
        for run_id in self.board_runs(board):
            (t,) = self.conn.execute("SELECT COALESCE(MAX(t_end), 0) FROM windows WHERE tenant IN "
                                     "(SELECT id FROM tenants WHERE run = ?)", (run_id,)).fetchone()
            self.conn.execute("INSERT INTO events (run, t, kind, tenant, detail) VALUES (?, ?, ?, NULL, ?)",
                              (run_id, t, kind, json.dumps(detail)))
        self.conn.commit()

    def close(self):
        schema.close_writer(self.conn)


def last_window_rate(slot):
    """A board's rate now, as ``edgemt fleet status`` and the UI following a fleet DB show
    it: equation (1) over one window, the last grid slot every tenant of its run reported
    in (``(t_start, t_end, images)`` of ``storage.aggregate.slot_totals``); None without one."""
    return round(slot[2] / (slot[1] - slot[0]), 3) if slot and slot[1] > slot[0] else None


class LastSlot:
    """``slot_totals(per_tenant)[-1]`` of one run, kept as its windows arrive (a follower
    sees each window row once): per grid slot the windows and images reported in it, and
    the tenants that reported at all. A slot is a few numbers, so a run of hours at 1 s
    windows keeps ~100 KB an hour whatever its number of tenants; every slot is kept
    because the last complete one can be old (a tenant that failed reports no more)."""

    def __init__(self):
        self.tenants = set()
        self.slots = {}  # (t_start, t_end) rounded as slot_totals does -> [windows, images, t_start, t_end]

    def add(self, tenant, t_start: float, t_end: float, images: int) -> None:
        self.tenants.add(tenant)
        key = (round(t_start, 3), round(t_end, 3))
        s = self.slots.get(key)
        if s is None:
            s = self.slots[key] = [0, 0, key[0], key[1]]
        s[0] += 1
        s[1] += images

    def last(self):
        """(t_start, t_end, images) of the last slot every tenant reported in, or None."""
        n = len(self.tenants)
        for key in sorted(self.slots, reverse=True):
            windows, images, t_start, t_end = self.slots[key]
            if windows == n:
                return (t_start, t_end, images)
        return None


def board_totals(conn) -> list:
    """Per fleet run (one per board): its board, kind, status, tenants, windows, images, the
    span of its windows and its last complete window slot (every tenant reported in it),
    read from a fleet DB (``conn``: storage/schema.py ``connect``). Runs without
    ``params.fleet`` (not a fleet's) are left out."""
    from storage.aggregate import Window, slot_totals

    out = []
    runs = conn.execute("SELECT id, kind, status, params FROM runs ORDER BY id").fetchall()
    for run_id, kind, status, params in runs:
        fleet = json.loads(params or "{}").get("fleet")
        if not fleet:
            continue
        per_tenant = {}
        for tenant, t_start, t_end, images in conn.execute(
                "SELECT w.tenant, w.t_start, w.t_end, w.images FROM windows w JOIN tenants t ON t.id = w.tenant "
                "WHERE t.run = ? ORDER BY w.t_end", (run_id,)):
            per_tenant.setdefault(tenant, []).append(Window(t_start, t_end, images))
        (n_tenants,) = conn.execute("SELECT COUNT(*) FROM tenants WHERE run = ?", (run_id,)).fetchone()
        windows = [w for ws in per_tenant.values() for w in ws]
        slots = slot_totals(per_tenant)
        out.append({
            "board": fleet.get("board"), "run": run_id, "kind": kind, "status": status, "tenants": n_tenants,
            "windows": len(windows), "images": sum(w.images for w in windows),
            "t_start": min((w.t_start for w in windows), default=None),
            "t_end": max((w.t_end for w in windows), default=None),
            "last_slot": list(slots[-1]) if slots else None,
        })
    return out


def newest_board_runs(conn) -> dict:
    """{board: (run id, status)} of each board's newest fleet run, boards in the order
    their first run came; runs without ``params.fleet`` (not a fleet's) are left out."""
    out = {}
    for run_id, status, params in conn.execute("SELECT id, status, params FROM runs ORDER BY id"):
        try:
            fleet = json.loads(params or "{}").get("fleet")
        except (ValueError, AttributeError):
            fleet = None
        if isinstance(fleet, dict) and fleet.get("board"):
            out[str(fleet["board"])] = (run_id, status)
    return out


def fleet_id_of(fleet: dict):
    """The fleet (one ``edgemt fleet run``) a run's ``params.fleet`` belongs to: its ``id``,
    else (a DB written before ids were kept) the board DB's name ``<fleet id>-<board>.db``."""
    if fleet.get("id"):
        return str(fleet["id"])
    name = os.path.basename(str(fleet.get("db") or ""))
    suffix = f"-{fleet.get('board')}.db"
    return name[:-len(suffix)] if name.endswith(suffix) else None


def fleet_runs(conn, fleet_id: str = None) -> list:
    """The runs of one fleet in a fleet DB (default: the fleet of the latest fleet run), one
    per board, by board name: {run, board, fleet, kind, status, host, params} (host and
    params decoded). BadInput naming the fleets there when ``fleet_id`` is not one, or when
    the DB holds no fleet run."""
    runs = []
    for run_id, kind, status, host, params in conn.execute(
            "SELECT id, kind, status, host, params FROM runs ORDER BY id").fetchall():
        try:
            params = json.loads(params or "{}") or {}
            host = json.loads(host or "{}") or {}
        except ValueError:
            continue
        fleet = params.get("fleet") if isinstance(params, dict) else None
        if not isinstance(fleet, dict) or not fleet.get("board"):
            continue
        runs.append({"run": run_id, "board": fleet["board"], "fleet": fleet_id_of(fleet), "kind": kind,
                     "status": status, "host": host if isinstance(host, dict) else {}, "params": params})
    if not runs:
        raise BadInput("the DB holds no fleet run (no run has params.fleet); give the --db of edgemt fleet run, "
                       "or a RUN")
    fleets = list(dict.fromkeys(r["fleet"] for r in runs))
    if fleet_id is None:
        fleet_id = runs[-1]["fleet"]
    elif fleet_id not in fleets:
        raise BadInput(f"--fleet {fleet_id!r} is not a fleet of the DB; fleets: {', '.join(map(str, fleets[-10:]))}")
    return sorted((r for r in runs if r["fleet"] == fleet_id), key=lambda r: (r["board"], r["run"]))
