"""edgemt fleet on a real local Ray cluster (tests/fleet/conftest.py): the joined boards with
their fingerprint, a plan of short tflite runs on all three into one DB with the right
board on every row, and plans refused before anything starts."""
import json
import sqlite3
from pathlib import Path

from conftest import BOARDS, fleet_edgemt

SPEC = "mobilenet_v2,framework=tflite,threads=1"


def _plan(tmp_path, boards, duration=2, spec=SPEC, name="plan.toml") -> Path:
    lines = [f"duration = {duration}", "window = 1.0"]
    for b in boards:
        lines += [f"[boards.{b}]", f'tenants = ["{spec}"]']
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def test_boards_lists_every_joined_board_with_its_fingerprint(cluster):
    r = fleet_edgemt(cluster, "fleet", "boards", "--json")
    assert r.returncode == 0, r.stderr
    rows = {b["board"]: b for b in json.loads(r.stdout)["boards"]}
    assert sorted(rows) == list(BOARDS)
    for b in BOARDS:
        row = rows[b]
        assert row["error"] is None
        assert row["model"] and row["kernel"] and row["hostname"]
        # each board's own config.toml names only tflite: the task ran there, with its env
        assert list(row["frameworks"]) == ["tflite"] and row["frameworks"]["tflite"]
        assert "cpu" in row["resources"] and "host" in row["sensors"]
    text = fleet_edgemt(cluster, "fleet", "boards")
    assert text.returncode == 0 and all(f"{b}: " in text.stdout for b in BOARDS)


def _rows(db, sql, args=()):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_plan_on_three_boards_lands_in_one_db_with_the_board_on_every_row(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS)
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert [b["board"] for b in out["boards"]] == list(BOARDS)
    assert all(b["state"] == "done" and b["exit"] == 0 and b["total_throughput"] > 0 for b in out["boards"])
    runs = _rows(db, "SELECT id, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.db'), "
                     "json_extract(params, '$.fleet.run'), status FROM runs ORDER BY id")
    assert sorted(r[1] for r in runs) == list(BOARDS)
    for run_id, board, board_db, board_run, status in runs:
        assert status == "done"
        # the board's own DB is in its own data folder: the first copy
        assert Path(board_db).is_file() and str(cluster.board_homes[board]) in board_db
        # every row of the board's run is in the fleet DB under this run, and nothing else is
        mine = _rows(db, "SELECT t.model, w.t_start, w.t_end, w.images, w.hist FROM windows w "
                         "JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.id", (run_id,))
        theirs = _rows(board_db, "SELECT t.model, w.t_start, w.t_end, w.images, w.hist FROM windows w "
                                 "JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.id", (board_run,))
        assert mine and mine == theirs
        for table in ("samples", "events", "results"):
            n_fleet = _rows(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run_id,))[0][0]
            n_board = _rows(board_db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (board_run,))[0][0]
            assert n_fleet == n_board, table
        assert _rows(db, "SELECT COUNT(*) FROM samples WHERE run = ?", (run_id,))[0][0] > 0
        tenants = _rows(db, "SELECT status, runtime FROM tenants WHERE run = ?", (run_id,))
        assert tenants == _rows(board_db, "SELECT status, runtime FROM tenants WHERE run = ?", (board_run,))
    # every window belongs to a run of the fleet DB (no orphan row of any board)
    assert _rows(db, "SELECT COUNT(*) FROM windows WHERE tenant NOT IN (SELECT id FROM tenants)")[0][0] == 0
    # the fleet DB is an edgemt DB the other commands read
    rep = fleet_edgemt(cluster, "report", str(runs[0][0]), "--db", str(db), "--json")
    assert rep.returncode == 0, rep.stderr


def test_unknown_board_is_refused_before_anything_starts(cluster, tmp_path):
    plan = _plan(tmp_path, ["b1", "nope"])
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "'nope'" in lines[0] and "not joined" in lines[0], r.stderr
    assert not db.exists()
    for b in BOARDS:  # no board started a run
        assert not (cluster.board_homes[b] / "data" / "edgemt" / "fleet").exists() or not any(
            p.name.endswith("-b1.db") and p.stat().st_mtime > plan.stat().st_mtime
            for p in (cluster.board_homes[b] / "data" / "edgemt" / "fleet").iterdir())


def test_bad_spec_is_refused_naming_the_board(cluster, tmp_path):
    plan = _plan(tmp_path, ["b2"], spec="mobilenet_v2,framework=tflite,threads=zero")
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "board 'b2'" in lines[0] and "threads" in lines[0], r.stderr
    assert not db.exists()
