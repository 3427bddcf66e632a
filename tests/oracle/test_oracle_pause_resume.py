"""Oracle: pause/resume end to end. Issue 11, defect 1: a pause and a resume that both arrive
during one batch silenced the tenant for good; the concurrency sweep with --warm-start
(pause between levels, resume at the next) then recorded a level at throughput 0."""
import json

import pytest

from edgemt_testlib import run_edgemt


def test_warm_start_sweep_with_batches_longer_than_the_cooldown(oracle_home):
    # the reproduction: tflite batch=256 took ~1.5 s a batch; cooldown 0.05 s
    batch_s = 0.4
    oracle_home.model("*", batch_s=batch_s)
    proc = run_edgemt("sweep", "concurrency", "--tenant", "mobilenet_v2,framework=tflite,batch=256,threads=1",
                      "--max", "2", "--warm-start", "--cooldown", "0.05", "--duration", "2", "--window", "0.5",
                      "--json", check=0)
    out = json.loads(proc.stdout)
    levels = out["summary"]["levels"]
    assert set(levels) == {"1", "2"}
    for n, lv in levels.items():
        n = int(n)
        assert lv["ok"], lv
        # 2 s measured: each tenant ends 5 batches of 256 (+-1, where batch ends meet the edges)
        assert n * 4 * 256 / 2.0 <= lv["throughput"] <= n * 6 * 256 / 2.0, (n, lv)
    assert out["summary"]["best_level"] == 2
