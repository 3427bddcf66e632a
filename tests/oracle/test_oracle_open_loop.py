"""Oracle, open loop end to end: ``edgemt run --tenant ...,rate=R --json`` on tenants whose
batches take a known time. A tenant below its capacity serves every query on its slot and
meets its SLO; a saturated one (service time > 1/rate) shows its queue and latency growing
and its drops counted, and misses the SLO. Counts and structure only, with generous bounds:
no assertion on how fast this machine is."""
import csv
import json

from edgemt_testlib import run_edgemt


def _run(*specs, duration="4", window="0.5"):
    argv = ["run"]
    for s in specs:
        argv += ["--tenant", s]
    r = run_edgemt(*argv, "--duration", duration, "--window", window, "--json", check=0)
    return json.loads(r.stdout)


def test_open_loop_run_reports_queries_latency_and_slo(oracle_home):
    # 20 ms a batch. g1: 10 queries a second, 1 s SLO: served on time. g2: 0.25 s a
    # batch at 8 a second (twice what it can serve), queue of 4: drops, and the SLO missed.
    oracle_home.model("mobilenet_v2", batch_s=0.02)  # open loop: from its start, as from_start (oracle_child.py)
    oracle_home.model("squeezenet1_0", batch_s=0.25, from_start=True)
    out = _run("mobilenet_v2,rate=10,slo=1000", "squeezenet1_0,rate=8,queue=4,slo=p90:400", duration="4")
    fast, slow = out["tenants"]
    assert out["measured_s"] == 4.0
    ok = fast["open_loop"]
    assert (ok["rate"], ok["arrival"]) == (10.0, "constant")
    # the schedule, not the machine, sets how many were offered: 10 a second for 4 s
    assert 38 <= ok["scheduled"] <= 42 and ok["offered_qps"] == ok["scheduled"] / 4.0
    assert ok["dropped"] == 0
    assert abs(ok["completed"] - ok["scheduled"]) <= 2 and ok["completed"] == fast["batches"]
    assert ok["latency_ms"]["p99"] >= 20.0  # at least the 20 ms service time
    assert ok["lag_ms"]["mean"] <= ok["lag_ms"]["max"]
    slo = ok["slo"]
    assert (slo["ms"], slo["percentile"], slo["met"]) == (1000.0, 99.0, True)
    assert slo["within"] == ok["completed"] and slo["attainment"] == 1.0
    assert ok["queue_bound"] == 100  # the default
    assert slo["goodput_qps"] == round(slo["within"] / 4.0, 3)
    assert slo["attainment"] == round(slo["within"] / (ok["completed"] + ok["dropped"]), 4)

    sat = slow["open_loop"]
    assert 30 <= sat["scheduled"] <= 34
    assert sat["dropped"] >= 5  # counted, not a silently lowered rate
    assert sat["completed"] <= 4.0 / 0.25 + 2  # it serves at most 4 a second
    assert sat["queue"] >= 3  # the queue stays full
    assert sat["latency_ms"]["p99"] >= 750.0  # waited behind the queue: 4 x 250 ms
    assert sat["slo"]["met"] is False and sat["slo"]["attainment"] < 0.9

    # the windows in the DB carry the same counts, and the latency grows while the queue fills
    tid = slow["id"]
    rows = oracle_home.rows("SELECT scheduled, started, completed, dropped, within_slo, queue, qhist FROM windows "
                            "WHERE tenant = ? ORDER BY t_start", (tid,))
    assert all(r[0] is not None for r in rows)
    closed = oracle_home.rows("SELECT COUNT(*) FROM windows WHERE scheduled IS NULL")
    assert closed == [(0,)]

    # the CSV timeline carries them, with goodput and attainment per window as defined
    csv_path = oracle_home.home / "t.csv"
    run_edgemt("export", "--out", str(csv_path))
    with open(csv_path) as fh:
        table = list(csv.DictReader(fh))
    mine = [r for r in table if int(r["tenant"]) == tid]
    assert len(mine) == len(rows)
    assert [int(r["scheduled"]) for r in mine] == [r[0] for r in rows]
    assert [int(r["dropped"]) for r in mine] == [r[3] for r in rows]
    # the windows of the result's span add up to the --json figures (one definition, two outputs)
    since, until = out["span"]
    for s in (fast, slow):
        q = s["open_loop"]
        ws = [r for r in table if int(r["tenant"]) == s["id"] and float(r["t_start"]) >= since - 1e-3
              and float(r["t_end"]) <= until + 1e-3]
        assert len(ws) == 8  # 4 s of 0.5 s windows
        for k in ("scheduled", "started", "completed", "dropped"):
            assert sum(int(r[k]) for r in ws) == q[k], k
        within = sum(int(r["within_slo"]) for r in ws)
        assert within == q["slo"]["within"]
        assert q["slo"]["goodput_qps"] == round(within / out["measured_s"], 3)
    for r in mine:
        seconds = float(r["t_end"]) - float(r["t_start"])
        assert float(r["goodput_qps"]) == round(int(r["within_slo"]) / seconds, 3)
        ended = int(r["completed"]) + int(r["dropped"])
        assert r["slo_attainment"] == ("" if not ended else str(round(int(r["within_slo"]) / ended, 4)))


def test_closed_loop_is_unchanged(oracle_home):
    oracle_home.model("*", batch_s=0.02)
    out = _run("mobilenet_v2", duration="2")
    t = out["tenants"][0]
    assert t["open_loop"] is None
    assert oracle_home.rows("SELECT COUNT(*) FROM windows WHERE scheduled IS NOT NULL") == [(0,)]


def test_summary_prints_the_open_loop_table(oracle_home):
    oracle_home.model("*", batch_s=0.25, from_start=True)
    r = run_edgemt("run", "--tenant", "mobilenet_v2,rate=8,queue=2,slo=100", "--duration", "2", "--window", "0.5",
                   check=0)
    text = " ".join(r.stdout.split())  # the line wraps at the terminal's width
    assert "open loop (constant, 8/s offered)" in text
    assert "SLO p99 <= 100 ms: 0.0% within, goodput 0.00/s: MISSED" in text


def test_trace_and_poisson_arrivals_end_to_end(oracle_home):
    # a trace of 0.1 s and 0.3 s gaps (5 queries a second on average, repeated), and a seeded
    # poisson stream of 20 a second: the child reads the trace file and draws the poisson
    # times itself; the controller only counts what it reports
    trace = oracle_home.home / "gaps.txt"
    trace.write_text("# seconds between queries\n0.1\n0.3\n")
    oracle_home.model("*", batch_s=0.01)
    out = _run(f"mobilenet_v2,arrival=trace:{trace}", "mobilenet_v1,framework=tflite,rate=20,arrival=poisson,seed=5",
               duration="4")
    tr, po = (t["open_loop"] for t in out["tenants"])
    assert (tr["arrival"], tr["rate"]) == ("trace", 5.0)
    assert 18 <= tr["scheduled"] <= 22 and tr["dropped"] == 0
    assert po["arrival"] == "poisson" and po["rate"] == 20.0
    assert 40 <= po["scheduled"] <= 130  # 80 expected; a poisson count of 80 is within 40..130 for any seed
    assert po["completed"] >= po["scheduled"] - 5
    spec = json.loads(oracle_home.rows("SELECT spec FROM tenants WHERE id = ?", (out["tenants"][1]["id"],))[0][0])
    assert (spec["arrival"], spec["seed"], spec["rate"]) == ("poisson", 5, 20.0)
