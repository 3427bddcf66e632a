"""The summaries of the experiments on given level results (no run): what they report
and what they refuse to report (issue 11, defects 7 and 8)."""
from runners.experiments import batch_sweep, concurrency_sweep, dmp
from runners.spec import parse_spec


def lvl(tp, ok=True, **kw):
    return dict({"ok": ok, "throughput": tp, "std": 0.0}, **kw)


def test_dmp_missing_a_placement_has_no_ideal_and_names_it():
    # placement 2 failed alone, so 3 was never measured: an ideal from placement 1 alone is wrong
    names = ["torch@cpu#1:mobilenet_v2", "tflite@cpu#2:mobilenet_v2", "torch@cpu#3:squeezenet1_0"]
    alone = {names[0]: lvl(40.0, concurrency=1), names[1]: lvl(0.0, ok=False, reason="tenant 2 failed: OOM")}
    s = dmp.summarize(alone, {names[0]: 1}, None, True, "failed alone", names=names)
    assert s["ideal"] is None and s["gap_percent"] is None and s["achieved"] is None
    assert s["complete"] is False
    assert s["missing"] == {names[1]: "failed alone: tenant 2 failed: OOM", names[2]: "not measured"}
    assert s["parts"][names[2]]["missing"] == "not measured"


def test_dmp_complete_has_its_ideal_and_gap():
    names = ["a", "b"]
    alone = {"a": lvl(40.0), "b": lvl(60.0)}
    together = lvl(80.0, parts={"a": 30.0, "b": 50.0})
    s = dmp.summarize(alone, {"a": 1, "b": 1}, together, True, "done", names=names)
    assert s["ideal"] == 100.0 and s["achieved"] == 80.0 and s["gap_percent"] == 20.0 and s["missing"] == {}


def test_dmp_report_says_incomplete(capsys):
    from tui import report

    names = ["a", "b"]
    s = dmp.summarize({"a": lvl(40.0)}, {"a": 1}, None, True, "stopped", names=names)
    report._print_summary(report._console(), "dmp", s)
    out = capsys.readouterr().out
    assert "DMP incomplete" in out and "b (not measured)" in out and "ideal 40" not in out
