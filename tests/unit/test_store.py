import os
import sqlite3
import subprocess
import sys

import pytest

from runners.errors import BadInput
from storage import schema
from storage.export import export_csv, safe_cell
from storage.store import Store


def test_schema_wal_version_and_rows(tmp_path):
    db = tmp_path / "a.db"
    st = Store(db)
    run = st.create_run("run", {"x": 1}, {"board": "test"}, t0_monotonic=1.0)
    tid = st.add_tenant(run, group_id=1, model="mobilenet_v2", framework="torch", resource="cpu", batch=1,
                        isolation="process", status="starting", spec={"model": "mobilenet_v2"})
    st.add_window(tid, 1.0, 2.0, 7, 7, 1, {"60": 7})
    st.add_sample(run, 1.5, {"cpu_percent": 50.0, "mem_used_mb": 100.0})
    st.add_sample(run, 2.0, {"cpu_percent": 40.0, "power_w": 3.0})  # a new metric becomes a column
    st.add_event(run, 1.0, "added", None, {"group": 1})
    st.end_run(run, "done")
    st.close()
    c = sqlite3.connect(db)
    # WAL while written; a rollback journal at rest, so read-only opens create no -wal/-shm
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert c.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert c.execute("SELECT images FROM windows").fetchone()[0] == 7
    assert c.execute("SELECT power_w FROM samples WHERE t = 2.0").fetchone()[0] == 3.0
    assert c.execute("SELECT status FROM runs").fetchone()[0] == "done"
    assert oct(os.stat(db).st_mode & 0o777) == "0o644"


def test_commits_within_a_second_without_close(tmp_path):
    db = tmp_path / "b.db"
    st = Store(db)
    run = st.create_run("run", {})
    st.add_event(run, 0.1, "added")
    import time
    time.sleep(1.2)
    other = sqlite3.connect(db)  # another reader sees it without close()
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    st.close()


def test_runs_of_dead_controllers_become_interrupted(tmp_path):
    db = tmp_path / "c.db"
    st = Store(db)
    live = st.create_run("run", {})  # this process: alive
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    st.conn.execute("INSERT INTO runs (kind, started, status, controller_pid) VALUES ('run', 'x', 'running', ?)",
                    (int(dead_pid),))
    st.conn.commit()
    assert st.mark_interrupted() == [live + 1]
    rows = dict(st.conn.execute("SELECT id, status FROM runs").fetchall())
    assert rows == {live: "running", live + 1: "interrupted"}
    st.close()


def test_newer_schema_and_non_sqlite_are_refused(tmp_path):
    db = tmp_path / "new.db"
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION + 1}")
    c.commit()
    c.close()
    with pytest.raises(BadInput, match="newer than this edgemt"):
        Store(db)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all")
    with pytest.raises(BadInput, match="not an SQLite database"):
        Store(junk)


def test_csv_export_escapes_formulas(tmp_path):
    st = Store(tmp_path / "d.db")
    run = st.create_run("run", {})
    st.add_event(run, 0.5, "failed", None, {"reason": "x"})
    st.flush()
    st.conn.execute("UPDATE events SET kind = '=HYPERLINK(1)'")
    st.conn.commit()
    st.close()
    conn = schema.connect(tmp_path / "d.db", readonly=True)
    out = tmp_path / "e.csv"
    assert export_csv(conn, out, None, "events") == 1
    text = out.read_text()
    assert "'=HYPERLINK(1)" in text
    assert safe_cell("-1") == "'-1" and safe_cell(-1) == -1 and safe_cell("@x") == "'@x"
    with pytest.raises(BadInput, match="not a table"):
        export_csv(conn, out, None, "nope")
    with pytest.raises(BadInput, match="--run 99 is not in the DB"):
        export_csv(conn, out, 99)


def test_two_writers_on_one_db_both_get_their_rows_in(tmp_path):
    """A UI beside a headless run: each store holds the write lock only while it flushes."""
    import threading
    import time

    db = tmp_path / "two.db"
    a, b = Store(db), Store(db)
    ra, rb = a.create_run("run", {}), b.create_run("ui", {})
    stop = time.monotonic() + 2.0

    def write(st, run):
        i = 0
        while time.monotonic() < stop:
            st.add_event(run, i * 0.01, "log", None, {"i": i})
            st.add_sample(run, i * 0.01, {"cpu_percent": 1.0})
            i += 1
            time.sleep(0.002)
        st.close()
        return i

    counts = {}
    ts = [threading.Thread(target=lambda st=st, r=r: counts.__setitem__(r, write(st, r))) for st, r in ((a, ra), (b, rb))]
    [t.start() for t in ts]
    [t.join() for t in ts]
    c = sqlite3.connect(db)
    for run in (ra, rb):
        assert c.execute("SELECT COUNT(*) FROM events WHERE run = ?", (run,)).fetchone()[0] == counts[run], (
            run, counts, a.error, b.error, c.execute("SELECT run, COUNT(*) FROM events GROUP BY run").fetchall())
        assert c.execute("SELECT COUNT(*) FROM samples WHERE run = ?", (run,)).fetchone()[0] == counts[run]
    assert a.error is None and b.error is None


def test_a_db_from_before_application_ids_is_recognised_and_stamped(tmp_path):
    """A version-1 DB holding only edgemt's tables (made before PRAGMA application_id was set)."""
    db = tmp_path / "old.db"
    c = sqlite3.connect(db)
    c.executescript(schema.DDL)
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()
    assert schema.identify(db) == "legacy"
    schema.connect(db, readonly=True).close()  # reads need no stamp
    assert sqlite3.connect(db).execute("PRAGMA application_id").fetchone()[0] == 0
    Store(db).close()
    assert sqlite3.connect(db).execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert schema.identify(db) == "edgemt"


def test_new_files_and_foreign_ones(tmp_path):
    assert schema.identify(tmp_path / "missing.db") == "new"
    (tmp_path / "zero.db").write_bytes(b"")
    assert schema.identify(tmp_path / "zero.db") == "new"
    c = sqlite3.connect(tmp_path / "blank.db")
    c.execute("VACUUM")
    c.close()
    assert schema.identify(tmp_path / "blank.db") == "new"
    c = sqlite3.connect(tmp_path / "x.db")
    c.executescript(schema.DDL + "CREATE TABLE mine (x);")  # edgemt's tables and one more: not ours
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()
    before = (tmp_path / "x.db").read_bytes()
    with pytest.raises(BadInput, match="another program's SQLite database"):
        Store(tmp_path / "x.db")
    assert (tmp_path / "x.db").read_bytes() == before


def test_export_streams_the_timeline(tmp_path):
    """`edgemt export` writes the rows as it reads them: the timeline is the open cursor
    (without power) or a generator over it (with power), never a list of the whole run."""
    import types

    from storage.export import BY_RUN, _with_power

    db = tmp_path / "x.db"
    st = Store(db)
    run = st.create_run("run", {})
    tid = st.add_tenant(run, group_id=1, model="m", framework="tflite", resource="cpu", batch=1,
                        isolation="thread", status="stopped", spec={})
    for k in range(50):
        st.add_window(tid, float(k), float(k + 1), 7, 7, 1, {"60": 7})
    st.close()
    conn = sqlite3.connect(db)
    cur = conn.execute(BY_RUN["timeline"], (run,))
    names = [d[0] for d in cur.description]
    assert _with_power(conn, run, names, cur)[1] is cur
    conn.execute("ALTER TABLE samples ADD COLUMN power_w REAL")
    for k in range(52):
        conn.execute("INSERT INTO samples (run, t, power_w) VALUES (?, ?, 5.0)", (run, k * 1.0))
    cur = conn.execute(BY_RUN["timeline"], (run,))
    names2, rows = _with_power(conn, run, names, cur)
    assert isinstance(rows, types.GeneratorType) and names2[-2:] == ["power_w", "joules_per_image"]
    assert len(list(rows)) == 50
    assert export_csv(conn, tmp_path / "t.csv", run) == 50
    conn.close()


def test_open_loop_window_columns_are_added_to_an_older_db(tmp_path):
    """A DB made before the open-loop columns stays readable as it is (read-only, export)
    and gains the nullable columns the next time edgemt writes it; closed-loop windows
    read back without queries, open-loop ones with them."""
    db = tmp_path / "old.db"
    c = sqlite3.connect(db)
    c.executescript(schema.DDL)  # the windows table without the query columns
    c.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    c.execute("PRAGMA user_version = 1")
    c.execute("INSERT INTO runs (id, kind, started, status) VALUES (1, 'run', 'x', 'done')")
    c.execute("INSERT INTO tenants (id, run, group_id, model, framework, resource, batch, isolation, status) "
              "VALUES (1, 1, 1, 'm', 'torch', 'cpu', 1, 'process', 'stopped')")
    c.execute("INSERT INTO windows (tenant, t_start, t_end, images, batches, batch, hist) "
              "VALUES (1, 0.0, 1.0, 5, 5, 1, '{}')")
    c.commit()
    c.close()
    ro = schema.connect(db, readonly=True)
    assert not schema.has_query_columns(ro)
    assert export_csv(ro, tmp_path / "old.csv", 1) == 1
    ro.close()
    st = Store(db)
    q = dict(scheduled=4, started=3, completed=3, dropped=1, within=2, queue=0, lag_sum=0.003, lag_max=0.002,
             lag_hist={"50": 3}, qhist={"90": 3})
    st.add_window(1, 1.0, 2.0, 3, 3, 1, {"90": 3}, q)
    st.flush()
    old, new = st.windows_between(1)
    assert old.queries is None and new.queries == q
    st.close()
    conn = schema.connect(db, readonly=True)
    assert schema.has_query_columns(conn)
    export_csv(conn, tmp_path / "new.csv", 1)
    conn.close()
    with open(tmp_path / "new.csv") as fh:
        header, closed, opened = [line.rstrip("\n").split(",") for line in fh][:3]
    row = dict(zip(header, opened))
    assert (row["scheduled"], row["dropped"], row["goodput_qps"], row["slo_attainment"]) == ("4", "1", "2.0", "0.5")
    assert dict(zip(header, closed))["scheduled"] == ""
