"""Oracle: ``edgemt dmp --objective slo``: the most streams within the SLO across
placements. Each tenant is a stream of 2 queries a second. On torch a query takes 0.05 s,
so every stream meets a p90 600 ms SLO (each is served on its slot): 2 streams, the most
tried. On tensorflow a query takes 0.6 s, over the 400 ms SLO whatever the load: not one
stream meets it, so that placement counts 0 streams and is left out of the together run
(not a failure of the DMP). Counts and verdicts only; the SLOs leave hundreds of ms to a
loaded machine's late wake-ups."""
import json

from edgemt_testlib import run_edgemt

FAST = "mobilenet_v2,framework=torch,rate=2,slo=p90:600"
SLOW = "mobilenet_v2,framework=tensorflow,rate=2,slo=p90:400"


def test_dmp_slo_objective_counts_streams_within_the_slo(oracle_home):
    oracle_home.model("torch:mobilenet_v2", batch_s=0.05, from_start=True)
    oracle_home.model("tensorflow:mobilenet_v2", batch_s=0.6, from_start=True)
    r = run_edgemt("dmp", "--tenant", FAST, "--tenant", SLOW, "--objective", "slo", "--max", "2",
                   "--duration", "1.5", "--window", "0.5", "--json", check=0)
    out = json.loads(r.stdout)
    s = out["summary"]
    fast, slow = "torch@cpu#1:mobilenet_v2", "tensorflow@cpu#2:mobilenet_v2"
    assert s["objective"] == "slo"
    assert s["parts"][fast]["streams_alone"] == 2 and s["parts"][slow]["streams_alone"] == 0, s["parts"]
    assert (s["streams_ideal"], s["streams_achieved"], s["streams_met_together"]) == (2, 2, True), s
    assert s["parts"][fast]["slo_together"]["slo_met"] is True
    assert s["parts"][slow]["slo_together"] is None  # 0 streams: not run together
    rows = [(json.loads(k), json.loads(v)) for k, v in
            oracle_home.rows("SELECT key, value FROM results WHERE experiment = 'dmp'")]
    alone = {(k["part"], k["concurrency"]): v for k, v in rows if k.get("kind") == "alone"}
    assert set(alone) == {(fast, 1), (fast, 2), (slow, 1)}  # the slow one stops at its first miss
    assert alone[(slow, 1)]["ok"] is False and alone[(slow, 1)]["reason"].startswith("SLO missed")
    assert alone[(slow, 1)]["slo_met"] is False
    assert all(alone[(fast, n)]["slo_met"] and alone[(fast, n)]["attainment"] >= 0.9 for n in (1, 2))
    together = [v for k, v in rows if k.get("kind") == "together"]
    assert len(together) == 1 and list(together[0]["parts_slo"]) == [fast]
    # the text report says it too
    text = " ".join(run_edgemt("report", check=0).stdout.split())
    assert "DMP streams within SLO: ideal 2 (sum alone), achieved 2 together" in text, text


def test_dmp_slo_objective_bad_input(oracle_home):
    r = run_edgemt("dmp", "--tenant", FAST, "--tenant", "mobilenet_v2,framework=tensorflow", "--objective", "slo",
                   check=2)
    assert r.stderr.count("\n") == 1 and "needs rate=" in r.stderr and "Traceback" not in r.stderr
    r = run_edgemt("dmp", "--tenant", FAST, "--tenant", SLOW, "--objective", "most", check=2)
    assert "--objective 'most'; accepted: throughput, slo" in r.stderr
    assert oracle_home.rows("SELECT COUNT(*) FROM results") == [(0,)] if oracle_home.db.exists() else True


def test_tune_slo_objective_finds_the_most_streams_within_the_slo(oracle_home):
    """``edgemt tune --objective slo``: batch 1 takes 0.05 s a query, within a p90 400 ms SLO
    at 2 queries a second per stream; batch 4 takes 0.7 s, over it. The full grid of
    concurrency 1-2 x batch 1, 4: the best is 2 streams at batch 1; both batch-4
    configurations are SLO misses."""
    oracle_home.model("mobilenet_v2", batch_s={"1": 0.05, "4": 0.7}, from_start=True)
    r = run_edgemt("tune", "--tenant", "mobilenet_v2,framework=torch,rate=2,slo=p90:400", "--objective", "slo",
                   "--max", "2", "--batches", "1,4", "--isolations", "process", "--full-grid", "--duration", "1.5",
                   "--window", "0.5", "--json", check=0)
    s = json.loads(r.stdout)["summary"]
    assert s["objective"] == "slo" and s["slo"] == {"ms": 400.0, "percentile": 90.0} and s["rate"] == 2.0
    assert s["best"] == {"isolation": "process", "batch": 1, "concurrency": 2}, s
    assert s["best_streams"] == 2 and s["best_attainment"] >= 0.9 and s["best_goodput_qps"] > 0
    rows = [(json.loads(k), json.loads(v)) for k, v in
            oracle_home.rows("SELECT key, value FROM results WHERE experiment = 'tune'")]
    configs = {(k["concurrency"], k["batch"]): v for k, v in rows if k.get("kind") == "config"}
    assert set(configs) == {(1, 1), (2, 1), (1, 4), (2, 4)}
    for c in (1, 2):
        assert configs[(c, 1)]["slo_met"] is True
        assert configs[(c, 4)]["ok"] is False and configs[(c, 4)]["reason"].startswith("SLO missed")
    text = " ".join(run_edgemt("report", check=0).stdout.split())
    assert "tune streams within SLO (2/s each, p90 <= 400 ms): best 2 streams" in text, text
