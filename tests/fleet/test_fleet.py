"""edgemt fleet on a real local Ray cluster (tests/fleet/conftest.py): the joined boards with
their fingerprint, a plan of short tflite runs on all three into one DB with the right
board on every row, and plans refused before anything starts."""
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import edgemt_testlib
from edgemt_testlib import query_ro
from fleet.fleet_cluster import BOARDS, fleet_edgemt

# a real Ray cluster whose boards run real tflite tenants: make check leaves these to make test,
# which runs them alone after the others; under xdist they stay on one worker (the xdist_group),
# so the cluster is started once
pytestmark = [pytest.mark.fleet, pytest.mark.frameworks, pytest.mark.xdist_group("fleet")]

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


def test_plan_on_three_boards_lands_in_one_db_with_the_board_on_every_row(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS)
    # a warm-up long enough for three tflite tenants loading at once on this machine
    plan.write_text("sync_start = true\nwarmup = 30\n" + plan.read_text())
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    # the synchronised start: each board's clock offset (the nodes share this machine's clock,
    # so it is within half the round trip of 0) and the launches' skew on the head's clock
    assert out["sync_start"] is True and out["start_skew_s"] >= 0
    for b in out["boards"]:
        assert abs(b["clock_offset_s"]) <= b["rtt_s"] / 2 + 1e-3 and b["launched_at"] > 0
    # the synchronised measured phase: one instant of the head's clock, 30 s after the start;
    # each board began measuring on it (by its own clock and offset), not at its own warm-up's end
    (measure_at,) = {b["measure_at"] for b in out["boards"]}
    assert measure_at == pytest.approx(min(b["launched_at"] for b in out["boards"]) + 30, abs=1.0)
    max_rtt = max(b["rtt_s"] for b in out["boards"])
    for b in out["boards"]:
        assert abs(b["measured_at"] - measure_at) <= b["rtt_s"] / 2 + 5e-3, b
    assert 0 <= out["measure_skew_s"] <= max_rtt + 5e-3, out
    for b in out["boards"]:
        (board_db, params) = query_ro(db, "SELECT json_extract(params, '$.fleet.db'), params FROM runs "
                                       "WHERE json_extract(params, '$.fleet.board') = ?", (b["board"],))[0]
        m = json.loads(params)["measured"]
        assert m["late_s"] == 0.0 and m["measure_at"] == pytest.approx(measure_at + b["clock_offset_s"], abs=1e-6)
        assert json.loads(params)["fleet"]["measured_at"] == b["measured_at"]
        # every window of the measured phase starts at or after the instant, and the first on it
        first = query_ro(board_db, "SELECT MIN(t_start) FROM windows WHERE t_end > ? + 1e-3", (m["phase_since"],))[0][0]
        assert first == pytest.approx(m["phase_since"], abs=1e-3) and m["since"] >= m["phase_since"] - 1e-3
        assert m["at"] >= m["measure_at"] - 5e-3
    offsets = dict(query_ro(db, "SELECT json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.clock_offset_s') "
                             "FROM runs"))
    assert offsets == {b["board"]: b["clock_offset_s"] for b in out["boards"]}
    assert all(query_ro(db, "SELECT json_extract(params, '$.fleet.launched_at') FROM runs")[i][0] for i in range(3))
    assert [b["board"] for b in out["boards"]] == list(BOARDS)
    assert all(b["state"] == "done" and b["exit"] == 0 and b["total_throughput"] > 0 for b in out["boards"])
    runs = query_ro(db, "SELECT id, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.db'), "
                     "json_extract(params, '$.fleet.run'), status FROM runs ORDER BY id")
    assert sorted(r[1] for r in runs) == list(BOARDS)
    for run_id, board, board_db, board_run, status in runs:
        assert status == "done"
        # the board's own DB is in its own data folder: the first copy
        assert Path(board_db).is_file() and str(cluster.board_homes[board]) in board_db
        # every row of the board's run is in the fleet DB under this run, and nothing else is
        mine = query_ro(db, "SELECT t.model, w.t_start, w.t_end, w.images, w.hist FROM windows w "
                         "JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.id", (run_id,))
        theirs = query_ro(board_db, "SELECT t.model, w.t_start, w.t_end, w.images, w.hist FROM windows w "
                                 "JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.id", (board_run,))
        assert mine and mine == theirs
        for table in ("samples", "events", "results"):
            n_fleet = query_ro(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run_id,))[0][0]
            n_board = query_ro(board_db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (board_run,))[0][0]
            assert n_fleet == n_board, table
        assert query_ro(db, "SELECT COUNT(*) FROM samples WHERE run = ?", (run_id,))[0][0] > 0
        tenants = query_ro(db, "SELECT status, runtime FROM tenants WHERE run = ?", (run_id,))
        assert tenants == query_ro(board_db, "SELECT status, runtime FROM tenants WHERE run = ?", (board_run,))
    # every window belongs to a run of the fleet DB (no orphan row of any board)
    assert query_ro(db, "SELECT COUNT(*) FROM windows WHERE tenant NOT IN (SELECT id FROM tenants)")[0][0] == 0
    # the fleet DB is an edgemt DB the other commands read
    rep = fleet_edgemt(cluster, "report", str(runs[0][0]), "--db", str(db), "--json")
    assert rep.returncode == 0, rep.stderr
    # and report compares its boards: each one's throughput as its own edgemt run reported it
    rep = fleet_edgemt(cluster, "report", "--db", str(db), "--json")
    assert rep.returncode == 0, rep.stderr
    table = {b["board"]: b for b in json.loads(rep.stdout)["boards"]}
    assert sorted(table) == list(BOARDS)
    for b in out["boards"]:
        assert table[b["board"]]["total_throughput"] == b["total_throughput"]
        assert table[b["board"]]["images"] == b["images"] and table[b["board"]]["tenants"] == 1


def test_a_board_runs_a_batch_sweep_and_its_results_land_with_its_tenants(cluster, tmp_path):
    plan = tmp_path / "sweep.toml"
    plan.write_text(f'[boards.b2]\ncommand = "sweep batch"\ntenants = ["{SPEC}"]\n'
                    'duration = 1\nargs = ["--batches", "1,2", "--max-duration", "30"]\n')
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    ((run_id, kind, board, board_db, board_run),) = query_ro(
        db, "SELECT id, kind, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.db'), "
            "json_extract(params, '$.fleet.run') FROM runs")
    assert (kind, board) == ("sweep-batch", "b2")
    mine = query_ro(db, "SELECT experiment, key, value FROM results WHERE run = ? ORDER BY id", (run_id,))
    theirs = query_ro(board_db, "SELECT experiment, key, value FROM results WHERE run = ? ORDER BY id", (board_run,))
    assert mine and len(mine) == len(theirs)
    assert [(e, k) for e, k, _ in mine] == [(e, k) for e, k, _ in theirs]
    fleet_tenants = {t for (t,) in query_ro(db, "SELECT id FROM tenants WHERE run = ?", (run_id,))}
    for _e, _k, value in mine:  # tenant ids inside results are the fleet DB's, as merge remaps them
        for t in json.loads(value).get("tenants", []):
            assert t in fleet_tenants


def test_with_runs_on_every_board_whose_fingerprint_has_it(cluster, tmp_path):
    plan = tmp_path / "with.toml"
    plan.write_text(f'duration = 1\n[boards."with:tflite"]\ntenants = ["{SPEC}"]\n')
    db = tmp_path / "fleet.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(b["board"] for b in json.loads(r.stdout)["boards"]) == list(BOARDS)
    assert sorted(b for (b,) in query_ro(db, "SELECT json_extract(params, '$.fleet.board') FROM runs")) == list(BOARDS)
    # a fingerprint no board has: refused before anything starts, naming the table
    plan.write_text(f'duration = 1\n[boards."with:edgetpu"]\ntenants = ["{SPEC}"]\n')
    db2 = tmp_path / "none.db"
    r = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db2))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "'with:edgetpu'" in lines[0] and "no joined board has edgetpu" in lines[0], r.stderr
    assert not db2.exists()


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


def _board_of_each_window(db):
    return dict(query_ro(db, "SELECT json_extract(r.params, '$.fleet.board'), COUNT(w.id) FROM runs r "
                          "JOIN tenants t ON t.run = r.id JOIN windows w ON w.tenant = t.id GROUP BY r.id"))


def _wait_windows(db, boards, proc, timeout=240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the head ended early: {proc.returncode}\n{proc.stdout.read()}{proc.stderr.read()}")
        if db.exists():
            try:
                have = _board_of_each_window(db)
            except sqlite3.OperationalError:  # being written: next time
                have = {}
            if all(have.get(b, 0) >= 1 for b in boards):
                return have
        time.sleep(0.5)
    raise AssertionError(f"no window of every board {boards} in {timeout} s")


def _board_runs_left(cluster, db_name_part):
    """The board-side `edgemt run` processes of one plan (found by their DB path: started here)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if db_name_part in cmd and "\0run\0" in cmd:
                out.append(int(d.name))
    return out


def _head(cluster, plan, db):
    cluster.settle()  # no killed board's node left 'alive' for the head's driver to attach to
    env = {**os.environ, "RAY_ADDRESS": cluster.address, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([edgemt_testlib.EDGEMT, "fleet", "run", str(plan), "--db", str(db), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_gone(pids, timeout=90):
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(edgemt_testlib.pid_alive(p) for p in pids):
        time.sleep(0.5)
    left = [p for p in pids if edgemt_testlib.pid_alive(p)]
    for p in left:  # only what this test started; said by the assertion below
        os.kill(p, signal.SIGKILL)
    return left


def test_ctrl_c_on_the_head_stops_every_board(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS, duration=600)  # ends only by the Ctrl-C
    db = tmp_path / "fleet.db"
    head = _head(cluster, plan, db)
    try:
        _wait_windows(db, BOARDS, head)
        head.send_signal(signal.SIGINT)
        out, err = head.communicate(timeout=240)
    finally:
        if head.poll() is None:
            head.kill()
    assert head.returncode == 130, out + err
    assert "Ctrl-C" in err
    boards = {b["board"]: b for b in json.loads(out)["boards"]}
    assert all(boards[b]["state"] == "stopped" and boards[b]["exit"] == 130 for b in BOARDS), boards
    # every board's own run stopped (its Ctrl-C): interrupted there and in the fleet DB, windows kept
    runs = query_ro(db, "SELECT json_extract(params, '$.fleet.board'), status, json_extract(params, '$.fleet.db') "
                     "FROM runs")
    assert sorted(r[0] for r in runs) == list(BOARDS)
    for board, status, board_db in runs:
        assert status == "interrupted"
        assert query_ro(board_db, "SELECT status FROM runs") == [("interrupted",)]
        assert not query_ro(board_db, "SELECT 1 FROM tenants WHERE status IN ('starting', 'running', 'paused')")
    assert all(n >= 1 for n in _board_of_each_window(db).values())
    assert _wait_gone(_board_runs_left(cluster, Path(runs[0][2]).name.rsplit("-", 1)[0]), timeout=5) == []


def test_a_board_killed_mid_plan_keeps_its_windows_and_is_marked_lost(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS, duration=8)
    db = tmp_path / "fleet.db"
    head = _head(cluster, plan, db)
    fleet_id = None
    try:
        _wait_windows(db, BOARDS, head)
        fleet_id = Path(query_ro(db, "SELECT json_extract(params, '$.fleet.db') FROM runs")[0][0]).name.rsplit("-", 1)[0]
        cluster.kill_board("b3")  # the board's Ray node is gone at once (its edgemt run goes on there)
        out, err = head.communicate(timeout=300)
    finally:
        if head.poll() is None:
            head.kill()
        # the board's own run ends by its duration: the first copy is complete on the board
        left = _wait_gone(_board_runs_left(cluster, fleet_id)) if fleet_id else []
        cluster.add_board("b3")  # the fleet is whole again for the tests after this one
        cluster.nodes["b3"].wait_started()
    assert not left, f"board runs still running after their duration: {left}"
    assert head.returncode == 3, out + err
    boards = {b["board"]: b for b in json.loads(out)["boards"]}
    assert boards["b3"]["state"] == "lost" and boards["b3"]["detail"]
    assert all(boards[b]["state"] == "done" and boards[b]["exit"] == 0 for b in ("b1", "b2"))
    status = dict(query_ro(db, "SELECT json_extract(params, '$.fleet.board'), status FROM runs"))
    assert status == {"b1": "done", "b2": "done", "b3": "interrupted"}
    windows = _board_of_each_window(db)
    assert windows["b3"] >= 1  # what came before the board left is kept
    (b3_run,) = [r for (r,) in query_ro(db, "SELECT id FROM runs WHERE json_extract(params, '$.fleet.board') = 'b3'")]
    lost = query_ro(db, "SELECT detail FROM events WHERE run = ? AND kind = 'board_lost'", (b3_run,))
    assert len(lost) == 1 and json.loads(lost[0][0])["board"] == "b3"


def test_a_board_that_drops_and_comes_back_is_reconciled_without_duplicates(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS, duration=10)
    plan.write_text("rejoin = 240\n" + plan.read_text())
    db = tmp_path / "fleet.db"
    head = _head(cluster, plan, db)
    fleet_id = None
    try:
        _wait_windows(db, BOARDS, head)
        fleet_id = Path(query_ro(db, "SELECT json_extract(params, '$.fleet.db') FROM runs")[0][0]).name.rsplit("-", 1)[0]
        cluster.kill_board("b3")  # the link drops: the board's Ray node is gone, its run goes on
        cluster.add_board("b3")     # and it comes back
        cluster.nodes["b3"].wait_started()
        out, err = head.communicate(timeout=300)
    finally:
        if head.poll() is None:
            head.kill()
        left = _wait_gone(_board_runs_left(cluster, fleet_id)) if fleet_id else []
    assert not left, f"board runs still running after their duration: {left}"
    assert head.returncode == 0, out + err
    boards = {b["board"]: b for b in json.loads(out)["boards"]}
    assert all(boards[b]["state"] == "done" and boards[b]["exit"] == 0 for b in BOARDS), boards
    (b3_run, board_db, board_run, status) = query_ro(
        db, "SELECT id, json_extract(params, '$.fleet.db'), json_extract(params, '$.fleet.run'), status FROM runs "
            "WHERE json_extract(params, '$.fleet.board') = 'b3'")[0]
    assert status == "done"
    # every row the board wrote is in the fleet DB exactly once: what came before the drop and
    # what the head copied after it came back
    sql = ("SELECT w.t_start, w.t_end, w.images, w.hist FROM windows w JOIN tenants t ON t.id = w.tenant "
           "WHERE t.run = ? ORDER BY w.t_start")
    assert query_ro(db, sql, (b3_run,)) == query_ro(board_db, sql, (board_run,))
    for table in ("samples", "results"):
        assert (query_ro(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (b3_run,))
                == query_ro(board_db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (board_run,)))
    kinds = [k for (k,) in query_ro(db, "SELECT kind FROM events WHERE run = ? AND kind LIKE 'board_%' ORDER BY id",
                                 (b3_run,))]
    assert kinds == ["board_lost", "board_back"]
    n_board_events = query_ro(board_db, "SELECT COUNT(*) FROM events WHERE run = ?", (board_run,))[0][0]
    assert query_ro(db, "SELECT COUNT(*) FROM events WHERE run = ?", (b3_run,))[0][0] == n_board_events + 2


def test_a_head_started_again_picks_up_the_boards_runs_instead_of_starting_them(cluster, tmp_path):
    plan = _plan(tmp_path, BOARDS, duration=10)
    db = tmp_path / "fleet.db"
    head = _head(cluster, plan, db)
    fleet_id, again = None, None
    try:
        _wait_windows(db, BOARDS, head)
        head.kill()  # the head dies mid-plan (SIGKILL: nothing of it ends cleanly)
        head.communicate(timeout=60)
        before = query_ro(db, "SELECT json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.db'), "
                           "json_extract(params, '$.fleet.id') FROM runs ORDER BY id")
        fleet_id = before[0][2]
        # the boards' runs go on without a head: still running there
        assert all(query_ro(board_db, "SELECT status FROM runs") == [("running",)] for _b, board_db, _f in before)
        again = fleet_edgemt(cluster, "fleet", "run", str(plan), "--db", str(db), "--json")
    finally:
        if head.poll() is None:
            head.kill()
        left = _wait_gone(_board_runs_left(cluster, fleet_id)) if fleet_id else []
    assert not left, f"board runs still running after their duration: {left}"
    assert again.returncode == 0, again.stdout + again.stderr
    out = json.loads(again.stdout)
    assert all(b["state"] == "done" and b["exit"] == 0 and b.get("resumed") for b in out["boards"]), out
    runs = query_ro(db, "SELECT id, json_extract(params, '$.fleet.board'), json_extract(params, '$.fleet.db'), "
                     "json_extract(params, '$.fleet.run'), json_extract(params, '$.fleet.id'), status FROM runs "
                     "ORDER BY id")
    # one run per board, the same fleet: no board's run was started again
    assert sorted(r[1] for r in runs) == list(BOARDS) and {r[4] for r in runs} == {fleet_id}
    assert all(r[5] == "done" for r in runs)
    for b in BOARDS:
        folder = cluster.board_homes[b] / "data" / "edgemt" / "fleet"
        assert [p.name for p in folder.glob(f"{fleet_id}-*.db")] == [f"{fleet_id}-{b}.db"]
    for run_id, _board, board_db, board_run, _f, _s in runs:
        # every row the board wrote is in the fleet DB once: before the head died and after
        sql = ("SELECT w.t_start, w.t_end, w.images, w.hist FROM windows w JOIN tenants t ON t.id = w.tenant "
               "WHERE t.run = ? ORDER BY w.t_start, w.id")
        assert query_ro(db, sql, (run_id,)) == query_ro(board_db, sql, (board_run,))
        for table in ("samples", "results"):
            assert (query_ro(db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run_id,))
                    == query_ro(board_db, f"SELECT COUNT(*) FROM {table} WHERE run = ?", (board_run,)))
        n_board_events = query_ro(board_db, "SELECT COUNT(*) FROM events WHERE run = ?", (board_run,))[0][0]
        kinds = [k for (k,) in query_ro(db, "SELECT kind FROM events WHERE run = ? AND kind LIKE 'head_%'", (run_id,))]
        assert kinds == ["head_back"]
        assert query_ro(db, "SELECT COUNT(*) FROM events WHERE run = ?", (run_id,))[0][0] == n_board_events + 1
    # the fleet ended: the same plan again is a new fleet, not this one picked up
    assert all(json.loads(p)["fleet"]["head_done"] for (p,) in query_ro(db, "SELECT params FROM runs"))
