"""Oracle: the batch that ran is the batch recorded (issue 11, defect 3). A fixed-batch
model (as on an EdgeTPU) clamps every batch to its own: a batch sweep says so and stops;
a batch that does not fit in memory is a failed level, not a clamp."""
import json

from edgemt_testlib import run_edgemt


def _sweep(oracle_home, batches):
    proc = run_edgemt("sweep", "batch", "--tenant", "mobilenet_v2,framework=tflite", "--batches", batches,
                      "--duration", "1", "--window", "0.5", "--json", check=0)
    return json.loads(proc.stdout)["summary"]


def test_batch_sweep_of_a_fixed_batch_model_says_so_and_stops(oracle_home):
    oracle_home.model("*", batch_s=0.02, fixed_batch=1)
    s = _sweep(oracle_home, "1,2,4,8")
    assert s["largest_runnable_batch"] == 1 and s["best_batch"] == 1
    assert s["batches_measured"] == 2 and s["clamped_batch"] == 2
    assert "ran as batch 1" in s["ended_by"] and "fixed" in s["ended_by"], s["ended_by"]
    assert s["levels"]["2"]["batch"] == 1 and not s["levels"]["2"]["ok"]
    # every window and every result row says the batch that ran
    assert oracle_home.rows("SELECT DISTINCT batch FROM windows") == [(1,)]
    assert oracle_home.rows("SELECT DISTINCT batch FROM tenants") == [(1,)]
    levels = oracle_home.rows("SELECT value FROM results WHERE key LIKE '%\"level\"%'")
    assert len(levels) == 2
    assert [json.loads(v)["batch"] for (v,) in levels] == [1, 1]
    # the report's table shows the batch asked for and the one that ran
    report = run_edgemt("report", check=0).stdout
    assert "2 (ran 1)" in report, report


def test_a_batch_that_does_not_fit_is_a_failed_level(oracle_home):
    oracle_home.model("*", base_s=0.005, image_s=0.002, max_batch=4)
    s = _sweep(oracle_home, "1,2,4,8,16")
    assert s["largest_runnable_batch"] == 4 and s["failed_batch"] == 8 and s["clamped_batch"] is None
    assert "does not fit in memory" in s["failed_reason"], s["failed_reason"]
    assert [s["levels"][b]["batch"] for b in ("1", "2", "4")] == [1, 2, 4]


def test_run_reports_the_batch_that_ran(oracle_home):
    oracle_home.model("*", batch_s=0.02, fixed_batch=1)
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,framework=tflite,batch=4", "--duration", "1",
                      "--window", "0.5", "--json", check=0)
    t = json.loads(proc.stdout)["tenants"][0]
    assert t["batch"] == 1 and t["images"] == t["batches"]
