"""storage/fleet_db.py: a board DB read past the head's cursors, in small batches, lands in the
fleet DB row for row with the board on its run; a batch sent twice is written once; tenant
state changes follow; a lost board's run is marked and keeps its windows."""
import json
import os
import shutil
import sqlite3
from pathlib import Path

from storage.fleet_db import FleetDB, read_new_rows

REPLAY = Path(__file__).resolve().parents[1] / "tui" / "data" / "replay.db"
WINDOWS = ("SELECT t.model, t.group_id, w.t_start, w.t_end, w.images, w.batches, w.hist FROM windows w "
           "JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.t_start, t.model, w.id")


def _q(db, sql, args=()):
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _board_db(tmp_path, name, status="running") -> Path:
    p = tmp_path / f"{name}.db"
    shutil.copy(REPLAY, p)
    conn = sqlite3.connect(str(p))
    conn.execute("UPDATE runs SET status = ?", (status,))
    conn.commit()
    conn.close()
    return p


def _stream(fleet, board, path, limit=10) -> int:
    """Polls like the head until a poll brings no streamed row; returns the number of polls."""
    polls = 0
    while True:
        polls += 1
        counts = fleet.apply(board, read_new_rows(str(path), fleet.cursor(board), limit=limit), str(path))
        if not any(counts[t] for t in ("windows", "samples", "events", "results")):
            return polls


def test_two_boards_streamed_in_batches_land_row_for_row_with_their_board(tmp_path):
    b1, b2 = _board_db(tmp_path, "b1"), _board_db(tmp_path, "b2")
    fleet = FleetDB(tmp_path / "fleet.db", plan="plan.toml")
    try:
        assert _stream(fleet, "b1", b1) > 10  # 102 windows, 10 a poll
        assert _stream(fleet, "b2", b2) > 10
    finally:
        fleet.close()
    db = tmp_path / "fleet.db"
    runs = _q(db, "SELECT id, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.run'), "
                  "json_extract(params, '$.fleet.plan'), controller_pid, params FROM runs ORDER BY id")
    assert [r[1] for r in runs] == ["b1", "b2"]
    (src_params,) = _q(REPLAY, "SELECT params FROM runs")[0]
    for run_id, board, board_run, plan, pid, params in runs:
        assert plan == "plan.toml" and pid == os.getpid()
        p = json.loads(params)
        p.pop("fleet")
        assert p == json.loads(src_params)  # the board's own parameters are kept
        assert _q(db, WINDOWS, (run_id,)) == _q(REPLAY, WINDOWS, (board_run,))
        for table in ("samples", "events"):
            assert (_q(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run_id,))
                    == _q(REPLAY, f"SELECT COUNT(*) FROM {table}"))
    assert _q(db, "SELECT COUNT(*) FROM windows")[0][0] == 2 * _q(REPLAY, "SELECT COUNT(*) FROM windows")[0][0]


def test_a_batch_sent_twice_is_written_once_and_tenant_state_follows(tmp_path):
    b1 = _board_db(tmp_path, "b1")
    fleet = FleetDB(tmp_path / "fleet.db")
    try:
        batch = read_new_rows(str(b1), {}, limit=1000)
        first = fleet.apply("b1", batch, str(b1))
        again = fleet.apply("b1", batch, str(b1))  # a retried poll
        assert first["windows"] == 102 and first["tenants"] == 3
        assert not any(again.values())
        conn = sqlite3.connect(str(b1))
        conn.execute("UPDATE tenants SET status = 'failed', error = 'boom' WHERE id = (SELECT MIN(id) FROM tenants)")
        conn.execute("UPDATE runs SET status = 'done', ended = '2026-01-01T00:00:00+00:00'")
        conn.commit()
        conn.close()
        fleet.apply("b1", read_new_rows(str(b1), fleet.cursor("b1")), str(b1))
    finally:
        fleet.close()
    db = tmp_path / "fleet.db"
    assert _q(db, "SELECT COUNT(*) FROM windows")[0][0] == 102
    assert _q(db, "SELECT status, error FROM tenants ORDER BY id")[0] == ("failed", "boom")
    assert _q(db, "SELECT status, ended FROM runs") == [("done", "2026-01-01T00:00:00+00:00")]


def test_a_lost_board_keeps_its_windows_and_its_run_is_marked(tmp_path):
    b1, b2 = _board_db(tmp_path, "b1"), _board_db(tmp_path, "b2", status="done")
    fleet = FleetDB(tmp_path / "fleet.db")
    try:
        fleet.apply("b1", read_new_rows(str(b1), {}, limit=40), str(b1))  # part of its windows came
        _stream(fleet, "b2", b2)
        assert fleet.mark_lost("b1", "RayActorError: the node died") == fleet.board_runs("b1")
        assert fleet.mark_lost("b2", "not running") == []  # a finished board is left as it is
    finally:
        fleet.close()
    db = tmp_path / "fleet.db"
    (r1,) = fleet.board_runs("b1")
    assert _q(db, "SELECT status FROM runs WHERE id = ?", (r1,)) == [("interrupted",)]
    assert _q(db, "SELECT COUNT(*) FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ?", (r1,))[0][0] == 40
    ev = _q(db, "SELECT detail FROM events WHERE run = ? AND kind = 'board_lost'", (r1,))
    assert [json.loads(d)["board"] for (d,) in ev] == ["b1"]
    assert not _q(db, "SELECT 1 FROM tenants WHERE run = ? AND status IN ('starting', 'running', 'paused')", (r1,))


def test_a_board_db_not_made_yet_reads_as_nothing(tmp_path):
    assert read_new_rows(str(tmp_path / "none.db"), {}) == {}
    (tmp_path / "empty.db").write_bytes(b"")
    assert read_new_rows(str(tmp_path / "empty.db"), {}) == {}


def test_fleet_status_gives_each_board_its_totals(tmp_path):
    import subprocess
    import sys

    b1, b2 = _board_db(tmp_path, "b1"), _board_db(tmp_path, "b2", status="done")
    fleet = FleetDB(tmp_path / "fleet.db")
    try:
        _stream(fleet, "b1", b1)
        fleet.apply("b2", read_new_rows(str(b2), {}, limit=30), str(b2))  # b2: part of it so far
    finally:
        fleet.close()
    edgemt = str(Path(sys.executable).parent / "edgemt")
    r = subprocess.run([edgemt, "fleet", "status", "--db", str(tmp_path / "fleet.db"), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {b["board"]: b for b in json.loads(r.stdout)["boards"]}
    assert sorted(rows) == ["b1", "b2"]
    (images,) = _q(REPLAY, "SELECT SUM(images) FROM windows")[0]
    assert rows["b1"]["images"] == images and rows["b1"]["windows"] == 102 and rows["b1"]["status"] == "running"
    assert rows["b2"]["windows"] == 30 and rows["b2"]["status"] == "done"
    # the last slot every tenant reported in, as the DB has it
    per_slot = _q(tmp_path / "fleet.db", "SELECT w.t_start, w.t_end, SUM(w.images), COUNT(*) FROM windows w JOIN "
                                         "tenants t ON t.id = w.tenant WHERE t.run = ? GROUP BY round(w.t_start, 3) "
                                         "ORDER BY w.t_start", (rows["b1"]["run"],))
    n = _q(tmp_path / "fleet.db", "SELECT COUNT(*) FROM tenants WHERE run = ?", (rows["b1"]["run"],))[0][0]
    s, e, imgs, _ = [x for x in per_slot if x[3] == n][-1]
    assert rows["b1"]["last_window_rate"] == round(imgs / (e - s), 3)
    text = subprocess.run([edgemt, "fleet", "status", "--db", str(tmp_path / "fleet.db")], capture_output=True,
                          text=True, timeout=120)
    assert text.returncode == 0 and text.stdout.startswith("b1: run ")


def test_a_head_started_again_takes_up_what_the_dead_one_copied_each_row_once(tmp_path):
    b1, b2 = _board_db(tmp_path, "b1"), _board_db(tmp_path, "b2")
    db = tmp_path / "fleet.db"
    first = FleetDB(db, plan=str(tmp_path / "plan.toml"), fleet_id="F1")
    for _ in range(3):  # part of each board, then the head dies (no finish)
        for name, path in (("b1", b1), ("b2", b2)):
            first.apply(name, read_new_rows(str(path), first.cursor(name), limit=10), str(path))
    first.close()
    again = FleetDB(db, plan=str(tmp_path / "plan.toml"))
    try:
        assert again.unfinished(str(tmp_path / "other.toml")) is None  # another plan's fleet is not picked up
        prev = again.unfinished(str(tmp_path / "plan.toml"))
        assert prev["id"] == "F1" and prev["head_pid"] == os.getpid() and sorted(prev["boards"]) == ["b1", "b2"]
        assert prev["boards"]["b1"]["copied"]["cursors"]["windows"] == 30
        again.fleet_id = prev["id"]
        for name, b in prev["boards"].items():
            again.resume(name, b["copied"], b["info"])
        _stream(again, "b1", b1)
        _stream(again, "b2", b2)
        again.finish()
    finally:
        again.close()
    runs = _q(db, "SELECT id, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.id'), "
                  "json_extract(params, '$.fleet.head_done') FROM runs ORDER BY id")
    assert [(r[1], r[2], r[3]) for r in runs] == [("b1", "F1", 1), ("b2", "F1", 1)]  # no run copied twice
    (board_run,) = _q(REPLAY, "SELECT id FROM runs")[0]
    for run_id, _board, _f, _d in runs:
        assert _q(db, WINDOWS, (run_id,)) == _q(REPLAY, WINDOWS, (board_run,))
        for table in ("samples", "events", "results"):
            assert (_q(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run_id,))
                    == _q(REPLAY, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (board_run,))), table
        assert _q(db, "SELECT COUNT(*) FROM tenants WHERE run = ?", (run_id,)) == _q(
            REPLAY, "SELECT COUNT(*) FROM tenants WHERE run = ?", (board_run,))
    # a head that ended is not picked up again: the next run of the plan is a new fleet
    check = FleetDB(db, plan="x")
    try:
        assert check.unfinished(str(tmp_path / "plan.toml")) is None
    finally:
        check.close()
