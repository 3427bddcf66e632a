"""Oracle: throughput end to end (CLI -> Supervisor -> oracle child -> DB) equals the
batches the child's loop counted over the measured span (its ledger), and so tenants x
batch / batch time, less what a stall of this machine at the span's end kept from
completing in it. See tests/oracle/oracle_env.py for the oracle."""
import json

import pytest

from edgemt_testlib import run_edgemt
from oracle.oracle_env import on_schedule

BATCH_S = 0.02113  # in the middle of a latency bucket (log scale): 19.95..22.39 ms


@pytest.mark.parametrize("isolation,count,batch", [("process", 2, 2), ("thread", 3, 1)])
def test_throughput_is_tenants_times_batch_over_batch_time(oracle_home, isolation, count, batch):
    oracle_home.model("*", batch_s=BATCH_S)
    oracle_home.ledger()
    window = 0.5
    proc = run_edgemt("run", "--tenant", f"mobilenet_v2,count={count},batch={batch},isolation={isolation}",
                      "--duration", "3", "--window", str(window), "--json", check=0)
    out = json.loads(proc.stdout)
    since, until = out["span"]
    first, end = round(since / window), round(until / window)
    seconds = out["measured_s"]
    # exact: each tenant's figure is the batches its loop counted in the span's windows
    counted = {}
    for t in out["tenants"]:
        assert t["status"] == "ok" and t["batch"] == batch
        n = sum(1 for e in oracle_home.batches_counted(t["id"]) if first <= int(e // window) < end)
        counted[t["id"]] = n
        assert t["throughput"] == pytest.approx(n * batch / seconds, abs=0.01)
    assert out["total_throughput"] == pytest.approx(sum(counted.values()) * batch / seconds, abs=0.01)
    # and that is the schedule's
    assert on_schedule(out["total_throughput"], count * batch / BATCH_S, count * batch, seconds), out
    # the DB's windows of the span hold the same figure: images over the windows' time
    rows = oracle_home.rows("SELECT tenant, SUM(images), SUM(t_end - t_start) FROM windows "
                            "WHERE t_start >= ? AND t_end <= ? GROUP BY tenant", (since - 1e-6, until + 1e-6))
    assert len(rows) == count
    for tid, images, span_s in rows:
        assert span_s == pytest.approx(seconds)
        assert images == counted[tid] * batch


def test_batch_time_per_batch_and_per_placement(oracle_home):
    # batch_s by batch, and a placement's own entry ahead of the model's
    oracle_home.model("mobilenet_v2", batch_s={"4": 0.05}, base_s=0.5)
    oracle_home.model("tflite:mobilenet_v2", batch_s=0.04)
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,batch=4,threads=1", "--tenant", "mobilenet_v2,framework=tflite",
                      "--duration", "3", "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    # each placement on its own batch time's schedule, 10x from the base 0.5 s they override
    seconds = out["measured_s"]
    assert on_schedule(out["placements"]["torch@cpu"], 4 / 0.05, 4, seconds), out["placements"]
    assert on_schedule(out["placements"]["tflite@cpu"], 1 / 0.04, 1, seconds), out["placements"]
