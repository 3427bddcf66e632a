"""The tenants pane's open-loop figures (tui/app_state.open_loop_figures) are the figures
of docs/experiments.md ("Open loop"), the same as ``edgemt run --json`` computes
(runners/open_loop.summary) from the same windows; and ``with_rate`` (the UI's ``r``)
checks a rate and an SLO by the SPEC's rules."""
import pytest

from runners import open_loop
from runners.errors import BadInput
from runners.spec import parse_spec, with_rate
from storage.aggregate import Window
from tui.app_state import TenantRec, open_loop_figures
from tui.widgets.tenants import MISSED_STYLE, open_loop_cells


def q(scheduled, completed, dropped, within, qhist):
    return dict(scheduled=scheduled, started=completed, completed=completed, dropped=dropped, within=within,
                queue=0, lag_sum=0.0, lag_max=0.0, lag_hist={}, qhist=qhist)


def rec(tid, windows, spec):
    r = TenantRec(tid, 1, "m", "torch", "cpu", 1, "process", None, "running", rate=spec.rate, slo_ms=spec.slo_ms,
                  slo_pct=spec.slo_pct)
    for w in windows:  # as RunState.on_window adds them
        r.windows.append(w)
        if w.queries is not None:
            r.add_queries(w.t_start, w.t_end, w.queries)
    return r


def test_group_figures_agree_with_the_json_summary():
    spec = parse_spec("mobilenet_v2,framework=torch,rate=10,slo=p90:100")
    a = [Window(0.0, 1.0, 10, 10, None, q(10, 10, 0, 9, {"50": 9, "300": 1})),
         Window(1.0, 2.0, 8, 8, None, q(10, 8, 2, 6, {"50": 6, "300": 2}))]
    b = [Window(0.0, 1.0, 10, 10, None, q(10, 10, 0, 10, {"50": 10})),
         Window(1.0, 2.0, 10, 10, None, q(10, 10, 0, 10, {"50": 10}))]
    f = open_loop_figures([rec(1, a, spec), rec(2, b, spec)])
    whole = open_loop.summary(spec, a + b, 2.0)["slo"]
    assert f.attainment == pytest.approx(35 / 40) and round(f.attainment, 4) == whole["attainment"]
    assert f.goodput == pytest.approx(35 / 2.0) and round(f.goodput, 3) == whole["goodput_qps"]
    assert f.met is whole["met"] is False  # 87.5% within, the SLO asks 90%
    assert f.offered == pytest.approx(40 / 2.0)
    assert (f.rate, f.slo_ms, f.slo_pct) == (10.0, 100.0, 90.0)
    # the running sums forget a window that leaves the last KEEP as totals() over the rest would
    from storage import queries
    from tui.app_state import KEEP

    many = [Window(float(i), i + 1.0, 1, 1, None, q(1, 1, 0, i % 2, {"50": 1} if i % 3 else {"300": 1}))
            for i in range(KEEP + 7)]
    g = open_loop_figures([rec(3, many, spec)])
    kept = many[-KEEP:]
    tot = queries.totals(kept)
    assert g.attainment == pytest.approx(queries.attainment(tot["within"], tot["completed"], tot["dropped"]))
    assert g.goodput == pytest.approx(tot["within"] / KEEP)
    assert g.latency_ms == pytest.approx(open_loop.figures(spec, tot, KEEP)["latency_ms"]["p90"])


def test_cells_colour_a_missed_slo_and_leave_closed_loop_empty():
    spec = parse_spec("mobilenet_v2,framework=torch,rate=10,slo=100")
    missed = [Window(0.0, 1.0, 5, 5, None, q(10, 5, 5, 5, {"50": 5}))]
    met = [Window(0.0, 1.0, 10, 10, None, q(10, 10, 0, 10, {"50": 10}))]

    class G:
        pass

    g = G()
    g.tenants = [rec(1, missed, spec)]
    cells = open_loop_cells(g)
    assert cells[0] == "10" and cells[1] == "5.0" and cells[2].style == MISSED_STYLE
    g.tenants = [rec(1, met, spec)]
    assert open_loop_cells(g)[2].style == "green"
    closed = parse_spec("mobilenet_v2,framework=torch")
    g.tenants = [rec(1, [Window(0.0, 1.0, 5, 5)], closed)]
    assert open_loop_cells(g) == ["", "", ""]


def test_with_rate_follows_the_spec_rules():
    s = parse_spec("mobilenet_v2,framework=torch,rate=10,arrival=poisson,seed=3,queue=7,slo=p90:50")
    t = with_rate(s, "20")
    assert (t.rate, t.arrival, t.seed, t.queue, t.slo_ms, t.slo_pct) == (20.0, "poisson", 3, 7, 50.0, 90.0)
    assert with_rate(s, "5", "").slo_ms is None
    c = with_rate(s, "0")
    assert (c.rate, c.arrival, c.seed, c.queue, c.slo_ms) == (None, None, None, None, None) and not c.open_loop
    assert with_rate(s, "") == c
    o = with_rate(parse_spec("mobilenet_v2,framework=torch"), 12.5, "100")
    assert (o.rate, o.arrival, o.slo_ms, o.slo_pct) == (12.5, "constant", 100.0, 99.0)
    for rate, slo, says in (("fast", None, "rate='fast' is not a number"), ("-1", None, "rate='-1'"),
                            ("5", "soon", "slo='soon'"), ("", "100", "slo= is for open-loop tenants")):
        with pytest.raises(BadInput, match=says.replace("(", r"\(")):
            with_rate(s, rate, slo)
