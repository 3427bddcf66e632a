"""Oracle: `edgemt diff` of two concurrency sweeps (issue 11, defect 6). A sweep's levels
never all run together, so there is no run total (it showed 0.0 img/s); the runs are
compared level by level and segment by segment, and the oracle's batch times say what
the ratios must be."""
import json

import pytest

from edgemt_testlib import run_edgemt


def sweep(oracle_home, batch_s):
    oracle_home.model("*", batch_s=batch_s)
    out = json.loads(run_edgemt("sweep", "concurrency", "--tenant", "mobilenet_v2,threads=1", "--max", "2",
                                "--duration", "2", "--window", "0.5", "--json", check=0).stdout)
    assert set(out["summary"]["levels"]) == {"1", "2"}
    return out["run_id"]


def test_diff_of_two_sweeps_level_by_level_and_segment_by_segment(oracle_home):
    a, b = sweep(oracle_home, 0.02), sweep(oracle_home, 0.04)  # B's batches take twice as long
    d = json.loads(run_edgemt("diff", str(a), str(b), "--json", check=0).stdout)
    rows = {r["what"]: r for r in d["results"]}
    assert rows["total img/s"]["a"] is None and rows["total img/s"]["b"] is None  # not 0.0
    levels = {k: r for k, r in rows.items() if k.startswith("sweep-concurrency") and k.endswith(" throughput")}
    assert len(levels) == 2
    for r in levels.values():
        assert r["ratio"] == pytest.approx(0.5, rel=0.05), r
    # each level's composition is a segment in both runs (a transient one, e.g. a tenant
    # warming a window later in one run, may show on one side only)
    for k in ("segment 1x g1 torch@cpu mobilenet_v2 b1 img/s", "segment 2x g2 torch@cpu mobilenet_v2 b1 img/s"):
        assert rows[k]["a"] > 0 and rows[k]["b"] > 0, rows[k]
