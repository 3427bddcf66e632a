"""Oracle: `edgemt report` and `correlate` on a fleet DB compare the boards (issue 17, the
study's Table II). Two boards' DBs are made by real `edgemt run`s (oracle children with a
known batch time), joined into a fleet DB by storage/fleet_db.py as the head does, and every
figure of the boards' table must be what the board's own run reported or what the stored
rows say, computed here on their own (SQL and the latency histograms)."""
import json

import pytest

from edgemt_testlib import query_ro, run_edgemt
from oracle.oracle_env import OracleHome
from runners.child import latency
from storage.fleet_db import FleetDB, read_new_rows


def _board_run(oracle_home, db, tenant, batch_s):
    oracle_home.model("*", batch_s=batch_s)
    return json.loads(run_edgemt("run", "--tenant", tenant, "--duration", "2", "--window", "0.5", "--db", str(db),
                                 "--json", check=0).stdout)


def _join(fleet_db, fleet_id, boards):
    fleet = FleetDB(str(fleet_db), plan="plan.toml", fleet_id=fleet_id)
    try:
        for name, db in boards.items():
            fleet.apply(name, read_new_rows(str(db), {}), str(db))
        fleet.set_info(next(iter(boards)), {"clock_offset_s": 0.25, "rtt_s": 0.001})
    finally:
        fleet.close()


def _expected(board_db, run):
    """A board's figures from its own DB: images in the measured phase's whole windows, the
    merged latency histogram, the time-weighted CPU % of its samples."""
    (params,) = query_ro(board_db, "SELECT params FROM runs WHERE id = ?", (run,))[0]
    m = json.loads(params)["measured"]
    since, until = m["since"], m["until"]
    rows = query_ro(board_db, "SELECT w.images, w.hist FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? "
                        "AND w.t_start >= ? - 1e-3 AND w.t_end <= ? + 1e-3", (run, since, until))
    hist = {}
    for _images, h in rows:
        for k, v in json.loads(h).items():
            hist[k] = hist.get(k, 0) + v
    (cpu,) = query_ro(board_db,
                "WITH s AS (SELECT t, cpu_percent AS v, LAG(t) OVER (ORDER BY t) AS tp FROM samples WHERE run = ?), "
                "o AS (SELECT v, MIN(t, ?) - MAX(tp, ?) AS w FROM s WHERE tp IS NOT NULL AND v IS NOT NULL) "
                "SELECT SUM(v * w) / SUM(w) FROM o WHERE w > 1e-9", (run, until, since))[0]
    return {"images": sum(r[0] for r in rows), "seconds": until - since, "cpu": cpu,
            "p50": round(latency.percentile(hist, 50) * 1000, 3), "p99": round(latency.percentile(hist, 99) * 1000, 3)}


# The boards' runs are made once per module and only read by the tests (report and
# correlate open the DBs read-only); in `make check` the module's tests are one xdist group
# (tests/conftest.py), so one worker makes them once instead of once per test.
pytestmark = pytest.mark.xdist_group("fleet_report")


@pytest.fixture(scope="module")
def fleet_db(tmp_path_factory):
    home = tmp_path_factory.mktemp("fleet-boards")
    with pytest.MonkeyPatch.context() as mp:  # the oracle_home fixture's private folders, for the module
        mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
        mp.setenv("XDG_DATA_HOME", str(home / "data"))
        mp.setenv("EDGEMT_DB", str(home / "edgemt.db"))
        oracle = OracleHome(home)
        b1 = _board_run(oracle, home / "b1.db", "mobilenet_v2,framework=tflite", 0.02)
        b2 = _board_run(oracle, home / "b2.db", "mobilenet_v2,framework=tflite,count=2", 0.04)
    db = home / "fleet.db"
    _join(db, "F0", {"b1": home / "b1.db"})  # an earlier fleet in the same DB
    _join(db, "F1", {"b1": home / "b1.db", "b2": home / "b2.db"})
    return db, {"b1": (home / "b1.db", b1), "b2": (home / "b2.db", b2)}


def test_report_on_a_fleet_db_has_one_row_per_board_with_the_stored_figures(fleet_db, oracle_home):
    db, boards = fleet_db
    out = json.loads(run_edgemt("report", "--db", str(db), "--json", check=0).stdout)
    assert out["fleet"] == "F1" and out["plan"] == "plan.toml"  # the latest fleet
    rows = {r["board"]: r for r in out["boards"]}
    assert sorted(rows) == ["b1", "b2"]
    for name, (board_db, summary) in boards.items():
        r = rows[name]
        exp = _expected(board_db, summary["run_id"])
        # what the board's own edgemt run reported, and what its stored windows and samples say
        assert r["board_run"] == summary["run_id"] and r["kind"] == "run" and r["status"] == "done"
        assert r["tenants"] == len(summary["tenants"])
        assert r["total_throughput"] == summary["total_throughput"] > 0
        assert r["images"] == summary["images"] == exp["images"]
        assert r["measured_s"] == summary["measured_s"]
        assert r["total_throughput"] == round(exp["images"] / exp["seconds"], 3)
        assert r["latency_ms"] == {"p50": exp["p50"], "p99": exp["p99"]}
        assert r["cpu_percent"] == pytest.approx(exp["cpu"], abs=0.006)
        assert r["hostname"] == json.loads(query_ro(board_db, "SELECT host FROM runs")[0][0])["hostname"]
        # no power collector here: no J/img, and why
        assert r["joules_per_inference"] is None and r["power_w"] is None and r["energy_reason"]
    # one tenant: the board's latency is the tenant's, as edgemt run printed it
    t = boards["b1"][1]["tenants"][0]["latency_ms"]
    assert rows["b1"]["latency_ms"] == {"p50": t["p50"], "p99": t["p99"]}
    # the oracle's batches: b2's take twice b1's, with two tenants on it: about the same rate
    assert rows["b1"]["latency_ms"]["p50"] < rows["b2"]["latency_ms"]["p50"]
    assert rows["b1"]["clock_offset_s"] == 0.25 and rows["b2"]["clock_offset_s"] is None

    text = run_edgemt("report", "--db", str(db), check=0).stdout
    for name, r in rows.items():
        line = next(ln for ln in text.splitlines() if f" {name} " in ln)
        assert f"{r['total_throughput']:.2f}" in line and f"{r['latency_ms']['p99']:.1f}" in line, text
    assert "J/img n/a: " in text

    # --fleet picks an earlier fleet; one run id is still its own report
    f0 = json.loads(run_edgemt("report", "--db", str(db), "--fleet", "F0", "--json", check=0).stdout)
    assert [r["board"] for r in f0["boards"]] == ["b1"]
    assert f0["boards"][0]["total_throughput"] == rows["b1"]["total_throughput"]
    one = json.loads(run_edgemt("report", str(rows["b2"]["run"]), "--db", str(db), "--json", check=0).stdout)
    assert one["run"]["id"] == rows["b2"]["run"] and "boards" not in one

    # bad input: one line, nothing written
    for args, words in ((["--fleet", "nope"], ["--fleet 'nope'", "F0, F1"]),
                        (["--plot", "x.png"], ["--plot", "give RUN"]),
                        (["1", "--fleet", "F1"], ["--fleet 'F1'", "not both"])):
        r = run_edgemt("report", *args, "--db", str(db), cwd=db.parent)
        assert r.returncode == 2 and not r.stdout
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and all(w in lines[0] for w in words), r.stderr
    assert not (db.parent / "x.png").exists()


def test_correlate_on_a_fleet_db_gives_each_board_and_all_boards(fleet_db, oracle_home):
    db, boards = fleet_db
    out = json.loads(run_edgemt("correlate", "--db", str(db), "--json", check=0).stdout)
    assert out["fleet"] == "F1" and [b["board"] for b in out["boards"]] == ["b1", "b2"]
    for b in out["boards"]:
        # a board's correlations are those of its own run in its own DB
        board_db, summary = boards[b["board"]]
        own = json.loads(run_edgemt("correlate", str(summary["run_id"]), "--db", str(board_db), "--json",
                                    check=0).stdout)
        assert b["rows"] == own["rows"]
    # all boards: every board's window slots together, as correlate of the runs gives
    together = json.loads(run_edgemt("correlate", *map(str, out["runs"]), "--db", str(db), "--json", check=0).stdout)
    assert out["rows"] == together["rows"]
    n = {r["series"]: r["n"] for r in out["rows"]}
    for s in ("concurrency", "cpu_percent"):
        assert n[s] == sum({r["series"]: r["n"] for r in b["rows"]}[s] for b in out["boards"])
    text = run_edgemt("correlate", "--db", str(db), check=0).stdout
    assert "all boards" in text and "b1" in text and "b2" in text
