"""The UI's experiment form: its fields are checked like the CLI's."""
import pytest

from runners.errors import BadInput
from runners.experiments.request import ExperimentRequest
from runners.experiments.search import search_budget
from runners.spec import parse_spec
from tui.screens.experiment import parse_request, summary_line


def test_good_request():
    r = parse_request("sweep-concurrency", "mobilenet_v2,framework=tflite,count=3", "8", "search", "4,1,2,2", "2.5")
    assert r.kind == "sweep-concurrency" and r.spec.framework == "tflite" and r.spec.count == 1
    assert (r.max_level, r.strategy, r.batches, r.duration) == (8, "search", [1, 2, 4], 2.5)
    assert r.warm  # the UI's sweep keeps the running tenants between levels
    assert r.steps == search_budget(8)  # what the CLI's progress bar expects too
    assert parse_request("sweep-batch", "resnet18", "1", "linear", "1,2", "1").steps == 2


@pytest.mark.parametrize("fields,words", [
    (("nope", "mobilenet_v2", "4", "search", "1", "3"), "experiment 'nope'"),
    (("tune", "mobilenet_v9", "4", "search", "1", "3"), "unknown model 'mobilenet_v9'"),
    (("tune", "mobilenet_v2", "four", "search", "1", "3"), "max level 'four' is not a number"),
    (("tune", "mobilenet_v2", "0", "search", "1", "3"), "max level 0 is out of range"),
    (("tune", "mobilenet_v2", "4", "random", "1", "3"), "strategy 'random'"),
    (("tune", "mobilenet_v2", "4", "search", "1,x", "3"), "batches '1,x'"),
    (("tune", "mobilenet_v2", "4", "search", "", "3"), "batches is empty"),
    (("tune", "mobilenet_v2", "4", "search", "1", "-1"), "duration '-1' is not positive"),
    (("capacity", "mobilenet_v2", "4", "search", "1", "3", "", "20", ""), "the SLO is required"),
    (("capacity", "mobilenet_v2", "4", "search", "1", "3", "100", "", ""), "give a rate max (the largest rate that meets the SLO) or an fps"),
    (("capacity", "mobilenet_v2", "4", "search", "1", "3", "100", "20", "15"), "give a rate max"),
    (("capacity", "mobilenet_v2", "4", "search", "1", "3", "100", "x", ""), "rate max 'x' is not a number"),
    (("capacity", "mobilenet_v2", "4", "search", "1", "3", "soon", "20", ""), "SLO 'soon'; SLO takes MS"),
    # the tuner's objective, as edgemt tune --objective
    (("tune", "mobilenet_v2", "4", "search", "1", "3", "100", "", "", "speed"),
     "objective 'speed'; accepted: throughput, throughput-per-watt, slo"),
    (("tune", "mobilenet_v2", "4", "search", "1", "3", "100", "", "", "slo"),
     "objective slo needs each stream's rate: give fps"),
    (("tune", "mobilenet_v2", "4", "search", "1", "3", "", "", "15", "slo"), "objective slo needs the SLO"),
    (("tune", "mobilenet_v2", "4", "search", "1", "3", "100", "", "fast", "slo"), "fps 'fast' is not a number"),
    (("tune", "mobilenet_v2", "4", "search", "1", "3", "p100:5", "", "15", "slo"),
     "SLO 'p100:5': percentile p100 is out of range"),
])
def test_bad_fields_name_the_value(fields, words):
    with pytest.raises(BadInput) as err:
        parse_request(*fields)
    assert words in str(err.value)


def test_capacity_request_as_the_cli_builds_it():
    r = parse_request("capacity", "mobilenet_v2,framework=torch,rate=5,slo=10", "4", "search", "1", "2", "p90:100",
                      "20", "")
    # the selected group's own rate= and slo= give way to the search's
    assert (r.kind, r.spec.rate, r.spec.slo_ms, r.slo_ms, r.slo_pct, r.rate_max, r.fps) == (
        "capacity", None, None, 100.0, 90.0, 20.0, None)
    assert r.max_level is None and r.duration == 2.0
    s = parse_request("capacity", "mobilenet_v2", "3", "search", "1", "2", "100", "", "15")
    assert (s.fps, s.max_level, s.rate_max, s.slo_pct) == (15.0, 3, None, 99.0)
    assert s.steps == search_budget(3)
    assert summary_line("capacity", {"max_streams": 3, "first_failed_streams": None, "ended_by": "reached --max"}) \
        == "capacity: max streams 3, ended by reached --max"


def test_capacity_keeps_the_selected_groups_arrival_seed_queue_and_rt(tmp_path):
    # as `edgemt capacity --tenant m,arrival=poisson,seed=3,queue=4,rt=on`: the search sets the
    # rate and the SLO, the rest of the group's open loop stays (was: all of it dropped)
    r = parse_request("capacity", "mobilenet_v2,framework=torch,rate=5,arrival=poisson,seed=3,queue=4,rt=on,slo=10",
                      "4", "search", "1", "2", "100", "20", "")
    assert (r.spec.rate, r.spec.slo_ms, r.spec.arrival, r.spec.seed, r.spec.queue, r.spec.rt) == (
        None, None, "poisson", 3, 4, True)
    # a trace's times cannot take the search's rates: constant arrivals, as with `r`
    trace = tmp_path / "gaps.txt"
    trace.write_text("0.1\n0.3\n")
    t = parse_request("capacity", f"mobilenet_v2,arrival=trace:{trace},queue=2", "4", "search", "1", "2",
                      "100", "20", "")
    assert (t.spec.rate, t.spec.arrival, t.spec.trace, t.spec.queue) == (None, "constant", None, 2)


def test_tune_objective_as_the_cli_builds_it():
    r = parse_request("tune", "mobilenet_v2,framework=torch,count=3", "2", "search", "4,1", "2", "p90:400", "",
                      "2", "slo")
    assert (r.kind, r.objective, r.max_level, r.batches, r.duration) == ("tune", "slo", 2, [1, 4], 2.0)
    # what tune_command checks the SPEC for: each stream's rate= and its slo=
    assert (r.spec.rate, r.spec.slo_ms, r.spec.slo_pct, r.spec.count) == (2.0, 400.0, 90.0, 1)
    assert r.describe()["objective"] == "slo"
    # empty fields leave the SPEC's own rate= and slo= (a selected open-loop group's)
    s = parse_request("tune", "mobilenet_v2,rate=5,slo=p95:80", "2", "search", "1", "2", "", "", "", "slo")
    assert (s.spec.rate, s.spec.slo_ms, s.spec.slo_pct) == (5.0, 80.0, 95.0)
    # other objectives tune the SPEC as given; the SLO fields are capacity's
    t = parse_request("tune", "mobilenet_v2", "2", "search", "1", "2", "100", "", "", "throughput-per-watt")
    assert (t.objective, t.spec.rate, t.spec.slo_ms) == ("throughput-per-watt", None, None)
    assert parse_request("tune", "mobilenet_v2", "2", "search", "1", "2").objective == "throughput"
    assert summary_line("tune", {"best_streams": 2, "measured": 4, "ended_by": "done"}) == \
        "tune: best streams 2, measured 4, ended by done"


def test_summary_line():
    line = summary_line("sweep-concurrency", {"max_level": 3, "best_level": 2, "best_throughput": 41.234,
                                              "gain": 1.5, "ended_by": "reached --max", "junk": 1})
    assert line == ("sweep-concurrency: max level 3, best level 2, best throughput 41.23, gain 1.50, "
                    "ended by reached --max")


def test_the_request_says_how_many_levels_a_progress_bar_expects():
    one = [parse_spec("mobilenet_v2")]
    assert ExperimentRequest("sweep-batch", one).steps == 9  # 1, 2, 4, ..., 256
    assert ExperimentRequest("sweep-concurrency", one, max_level=8, strategy="linear").steps == 8
    assert ExperimentRequest("sweep-concurrency", one, max_level=8, strategy="doubling").steps == 5
    two = [parse_spec("mobilenet_v2,count=3"), parse_spec("resnet18,count=2")]
    assert ExperimentRequest("dmp", two).steps == 3 + 2 + 1
    assert ExperimentRequest("dmp", two, as_given=True).steps == 3
    assert ExperimentRequest("tune", one, max_level=4, batches=[1, 2], full_grid=True).steps == 16
    assert ExperimentRequest("tune", one, max_level=4, batches=[1, 2], budget=5).steps == 5
