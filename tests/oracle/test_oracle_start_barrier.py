"""Oracle: the start barrier. Tenants that become ready at different times (one model loads
3 s longer) are measured over one span that begins only when every one of them runs, and a
placement's or the run's figure is the sum over that common span, never a sum of rates
each measured over its own time (NVIDIA's jetson_benchmarks starts its GPU and DLA processes
apart and adds their FPS; edgemt must not)."""
import json

import pytest

from edgemt_testlib import run_edgemt
from oracle.oracle_env import on_schedule


def test_measured_phase_begins_when_the_last_tenant_runs(oracle_home):
    oracle_home.model("tflite:mobilenet_v2", batch_s=0.02)                # ready at once
    oracle_home.model("torch:mobilenet_v2", batch_s=0.05, load_s=3.0)     # ready 3 s later
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,framework=tflite", "--tenant", "mobilenet_v2,threads=1",
                      "--duration", "2", "--window", "0.5", "--json", check=0)
    out = json.loads(proc.stdout)
    since, until = out["span"]
    assert until - since == pytest.approx(2.0, abs=1e-6)
    loaded = dict(oracle_home.rows("SELECT tenant, t FROM events WHERE kind = 'loaded'"))
    assert len(loaded) == 2
    # the span starts at a window edge after the later tenant had loaded (and warmed), not
    # after the first one
    assert since >= max(loaded.values())
    assert since >= min(loaded.values()) + 2.5
    # each tenant's figure and the total come from that common span only
    for t in out["tenants"]:
        images = oracle_home.rows("SELECT COALESCE(SUM(images), 0) FROM windows WHERE tenant = ? "
                                  "AND t_start >= ? AND t_end <= ?", (t["id"], since - 1e-6, until + 1e-6))[0][0]
        assert images > 0
        assert t["images"] == images
    # the schedule's figure; a span from the early tenant's start would miss the late one's
    # 20 of the 70 img/s
    assert on_schedule(out["total_throughput"], 1 / 0.02 + 1 / 0.05, 2, until - since), out["total_throughput"]
    # the early tenant ran (and was recorded) before the span: those windows are not in its figure
    early = oracle_home.rows("SELECT COALESCE(SUM(w.images), 0) FROM windows w JOIN tenants t ON t.id = w.tenant "
                             "WHERE t.framework = 'tflite' AND w.t_end <= ?", (since + 1e-6,))
    assert early[0][0] > 0
