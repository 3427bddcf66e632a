"""Oracle: throughput end to end (CLI -> Supervisor -> oracle child -> DB) equals
tenants x batch / batch time. See tests/oracle/oracle_env.py for the oracle."""
import json

import pytest

from edgemt_testlib import run_edgemt

BATCH_S = 0.02113  # in the middle of a latency bucket (log scale): 19.95..22.39 ms


@pytest.mark.parametrize("isolation,count,batch", [("process", 2, 2), ("thread", 3, 1)])
def test_throughput_is_tenants_times_batch_over_batch_time(oracle_home, isolation, count, batch):
    oracle_home.model("*", batch_s=BATCH_S)
    proc = run_edgemt("run", "--tenant", f"mobilenet_v2,count={count},batch={batch},isolation={isolation}",
                      "--duration", "3", "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    expected = count * batch / BATCH_S
    assert out["total_throughput"] == pytest.approx(expected, rel=0.01)
    for t in out["tenants"]:
        assert t["status"] == "ok" and t["batch"] == batch
        assert t["throughput"] == pytest.approx(batch / BATCH_S, rel=0.01)
    # the DB's windows hold the same figure: images over the measured windows' time
    rows = oracle_home.rows("SELECT tenant, SUM(images), SUM(t_end - t_start) FROM windows GROUP BY tenant")
    assert len(rows) == count
    for _tid, images, seconds in rows:
        assert images / seconds == pytest.approx(batch / BATCH_S, rel=0.01)


def test_batch_time_per_batch_and_per_placement(oracle_home):
    # batch_s by batch, and a placement's own entry ahead of the model's
    oracle_home.model("mobilenet_v2", batch_s={"4": 0.05}, base_s=0.5)
    oracle_home.model("tflite:mobilenet_v2", batch_s=0.04)
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,batch=4,threads=1", "--tenant", "mobilenet_v2,framework=tflite",
                      "--duration", "3", "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    # over a span the oracle completes span / batch time batches, +-1 (oracle_child.py): one
    # batch of 0.05 s is 1.7% of 3 s (at load 30 a run counted 61, 81.3 img/s)
    assert out["placements"]["torch@cpu"] == pytest.approx(4 / 0.05, rel=0.05 / 3 + 1e-6)
    assert out["placements"]["tflite@cpu"] == pytest.approx(1 / 0.04, rel=0.04 / 3 + 1e-6)
