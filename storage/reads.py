"""The run log's read queries, by name: what replay, follow, reports and experiments read.

Every SQL statement of edgemt is written in storage/ (tests/unit/test_layers_source.py
checks it); the rooms above call these functions. Each takes an open connection from
``schema.connect`` (rows as ``sqlite3.Row``) and returns plain dicts, oldest first.
"""
import json

from storage.errors import BadInput


def _rows(conn, sql, args=()) -> list:
    return [dict(r) for r in conn.execute(sql, args).fetchall()]


# -- runs --------------------------------------------------------------------------------------
def run(conn, run_id: int):
    """The ``runs`` row of ``run_id`` as a dict, or None."""
    rows = _rows(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
    return rows[0] if rows else None


def latest_run(conn):
    rows = _rows(conn, "SELECT * FROM runs ORDER BY id DESC LIMIT 1")
    return rows[0] if rows else None


def run_ids(conn) -> list:
    return [r["id"] for r in _rows(conn, "SELECT id FROM runs ORDER BY id")]


def resolve_run(conn, run_id: int = None) -> dict:
    """The run ``run_id`` (None: the latest); BadInput naming the last runs if it is not there."""
    row = latest_run(conn) if run_id is None else run(conn, run_id)
    if row is None:
        ids = run_ids(conn)
        raise BadInput(f"run {run_id} is not in the DB; runs: {', '.join(map(str, ids[-10:])) or 'none'}")
    return row


def running_runs(conn) -> list:
    """Runs marked 'running' (their controller may be gone): id, kind, started, controller_pid."""
    return _rows(conn, "SELECT id, kind, started, controller_pid FROM runs WHERE status = 'running' ORDER BY id")


# -- a run's rows ------------------------------------------------------------------------------
def tenants(conn, run_id: int) -> list:
    return _rows(conn, "SELECT * FROM tenants WHERE run = ? ORDER BY id", (run_id,))


def windows(conn, run_id: int, after_id: int = None) -> list:
    """The run's windows by end time (then tenant); with ``after_id``, those written after
    that row id, in the order they were written (following a run in progress)."""
    if after_id is None:
        return _rows(conn, "SELECT w.* FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? "
                           "ORDER BY w.t_end, w.tenant", (run_id,))
    return _rows(conn, "SELECT w.* FROM windows w JOIN tenants t ON t.id = w.tenant "
                       "WHERE t.run = ? AND w.id > ? ORDER BY w.id", (run_id, after_id))


def samples(conn, run_id: int, after_id: int = None) -> list:
    """The run's samples by time; with ``after_id``, those written after that row id."""
    if after_id is None:
        return _rows(conn, "SELECT * FROM samples WHERE run = ? ORDER BY t", (run_id,))
    return _rows(conn, "SELECT * FROM samples WHERE run = ? AND id > ? ORDER BY id", (run_id, after_id))


def samples_around(conn, run_id: int, since: float, until: float) -> list:
    """The samples inside ``[since, until]`` and the one on each side of it: the one before
    opens the interval the first one inside describes, the one after describes its end."""
    return _rows(conn, "SELECT * FROM samples WHERE run = ? AND t >= (SELECT COALESCE(MAX(t), -1e300) FROM "
                       "samples WHERE run = ? AND t <= ?) AND t <= (SELECT COALESCE(MIN(t), 1e300) FROM "
                       "samples WHERE run = ? AND t >= ?) ORDER BY t", (run_id, run_id, since, run_id, until))


def events(conn, run_id: int, after_id: int = None) -> list:
    """The run's events by time; with ``after_id``, those written after that row id."""
    if after_id is None:
        return _rows(conn, "SELECT * FROM events WHERE run = ? ORDER BY t, id", (run_id,))
    return _rows(conn, "SELECT * FROM events WHERE run = ? AND id > ? ORDER BY id", (run_id, after_id))


def results(conn, run_id: int, experiment: str = None) -> list:
    """The run's results (of one experiment, or all) as ``{experiment, key, value}`` with
    key and value decoded, in the order they were recorded."""
    sql, args = "SELECT experiment, key, value FROM results WHERE run = ?", [run_id]
    if experiment is not None:
        sql += " AND experiment = ?"
        args.append(experiment)
    return [{"experiment": r["experiment"], "key": json.loads(r["key"]), "value": json.loads(r["value"])}
            for r in _rows(conn, sql + " ORDER BY id", args)]
