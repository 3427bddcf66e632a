"""Oracle: `edgemt run --measure-at EPOCH` (issue 17, the fleet's synchronised measured
phase): the tenants warm up before the instant, the measured phase starts on it (the run's
window grid is laid so that a window edge falls there), and the run says where it started
on its wall clock; a run whose tenants are not warm by then starts at its next window edge
and says how late; an instant already past or absurd is refused before anything starts."""
import json
import time

import pytest

from edgemt_testlib import query_ro, run_edgemt

TENANT = "mobilenet_v2,framework=tflite"


def test_the_measured_phase_starts_at_the_instant_after_the_warm_up(oracle_home):
    oracle_home.model("*", batch_s=0.02)
    at = round(time.time() + 10.0, 3)  # room for a start and warm-up on a loaded machine
    proc = run_edgemt("run", "--tenant", TENANT, "--duration", "1", "--window", "0.5", "--measure-at", repr(at),
                      "--json", check=0)
    ended = time.time()
    out = json.loads(proc.stdout)
    assert out["measure_at"] == at and out["measure_at_late_s"] == 0.0
    # the phase began on the instant (this machine's clock: a few ms for the conversions)
    assert abs(out["measured_at"] - at) < 0.005, out
    assert ended >= at + 1.0  # one second measured from the instant: it cannot have ended before
    since, until = out["span"]
    assert until - since == pytest.approx(1.0, abs=1e-3)
    # the span is whole windows of the run's grid, and the tenants ran (warm-up) before it
    firsts = query_ro(oracle_home.db, "SELECT MIN(t_start) FROM windows WHERE t_start >= ? - 1e-3", (since,))
    assert firsts[0][0] == pytest.approx(since, abs=1e-3)
    assert query_ro(oracle_home.db, "SELECT COUNT(*) FROM windows WHERE t_end <= ? + 1e-3", (since,))[0][0] >= 1
    assert out["images"] == query_ro(oracle_home.db, "SELECT SUM(images) FROM windows WHERE t_start >= ? - 1e-3 "
                                                  "AND t_end <= ? + 1e-3", (since, until))[0][0] > 0
    (params,) = query_ro(oracle_home.db, "SELECT params FROM runs")[0]
    m = json.loads(params)["measured"]
    assert m["at"] == out["measured_at"] and m["measure_at"] == at and m["phase_since"] == pytest.approx(since)


def test_tenants_warm_after_the_instant_start_at_the_next_window_edge_and_say_so(oracle_home):
    oracle_home.model("*", batch_s=0.02, load_s=12.0)  # loads for longer than the instant is away
    at = round(time.time() + 5.0, 3)
    proc = run_edgemt("run", "--tenant", TENANT, "--duration", "1", "--window", "0.5", "--measure-at", repr(at),
                      "--json", check=0)
    out = json.loads(proc.stdout)
    assert out["measure_at_late_s"] > 0 and out["measured_at"] > at
    assert out["measured_at"] - at == pytest.approx(out["measure_at_late_s"], abs=0.005)
    assert "warm only after --measure-at" in proc.stderr and out["images"] > 0


@pytest.mark.parametrize("offset, words", [(-10.0, "already past"), (3 * 86400.0, "h ahead")])
def test_an_instant_past_or_absurd_is_refused_before_anything_starts(oracle_home, offset, words):
    at = time.time() + offset
    proc = run_edgemt("run", "--tenant", TENANT, "--duration", "1", "--measure-at", f"{at:.3f}")
    assert proc.returncode == 2 and not proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--measure-at {at:.3f}" in lines[0] and words in lines[0], proc.stderr
    assert not oracle_home.db.exists()
