"""`r` and `s` (capacity) on the oracle child (tests/oracle: the real wire protocol, batches of a known time):
a closed-loop group set to a rate and an SLO runs open-loop (the child's set_rate), the
tenants pane shows its rate, goodput and latency against the SLO from the figures of
docs/experiments.md, a group that cannot keep up is coloured, and rate 0 brings a group
back to closed loop. Bad values say why in the form and change nothing. Counts and
states only: nothing here depends on how fast this machine is."""
import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from runners import config
from runners.spec import parse_spec
from test_live import add_group, db_rows
from test_live_oracle import oracle_session
from tui.app import make_app
from tui.app_state import open_loop_figures
from tui_helpers import group_row, late_widgets_drawn, probed_envs, wait_for

pytestmark = pytest.mark.slow


async def set_rate(pilot, app, rate, slo):
    await pilot.press("r")
    await wait_for(pilot, lambda: app.screen.query("#rate"), 10, "the rate form")
    app.screen.query_one("#rate", Input).value = rate
    app.screen.query_one("#slo", Input).value = slo
    app.screen.query_one("#rate", Input).focus()
    await pilot.press("enter")


def figures(app, gid):
    return open_loop_figures(group_row(app, gid).tenants)


async def test_r_sets_a_rate_and_slo_and_back_to_closed_loop(oracle_home):
    # 20 ms a batch: 10 queries a second are served on their slots, well within 1 s.
    # squeezenet: 250 ms a batch at 8 a second is twice what it can serve: it misses.
    oracle_home.model("mobilenet_v2", batch_s=0.02)
    oracle_home.model("squeezenet1_0", batch_s=0.25, from_start=True)
    session = oracle_session(oracle_home)
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(160, 36)) as pilot:
            table = app.query_one(DataTable)
            await add_group(pilot, app, "mobilenet_v2", 1)
            await wait_for(pilot, lambda: group_row(app, 1).state == "running" and group_row(app, 1).current > 0,
                           60, "g1 running")
            await wait_for(pilot, lambda: table.row_count == 1, 10, "g1 on screen")
            assert table.get_cell("g1", "rate/s") == "" and figures(app, 1) is None  # closed loop

            # a bad rate: the form says why, nothing changes
            await set_rate(pilot, app, "fast", "100")
            await wait_for(pilot, lambda: "rate='fast' is not a number" in str(
                app.screen.query_one("#error", Static).render()), 10, "the form's error")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.screen.query("#rate"), 10, "the form to close")
            assert app.session.supervisor.groups[1].spec.rate is None

            table.move_cursor(row=0)
            await set_rate(pilot, app, "10", "1000")
            await wait_for(pilot, lambda: not app.screen.query("#rate"), 10, "the form to close")
            await wait_for(pilot, lambda: figures(app, 1) is not None and figures(app, 1).met is True
                           and figures(app, 1).goodput > 0, 60, "g1 open-loop, within its SLO")
            spec = app.session.supervisor.groups[1].spec
            assert (spec.rate, spec.arrival, spec.slo_ms, spec.slo_pct) == (10.0, "constant", 1000.0, 99.0)
            await wait_for(pilot, lambda: table.get_cell("g1", "rate/s") == "10", 5, "the rate on screen")
            await wait_for(pilot, lambda: table.get_cell("g1", "slo ms").style == "green", 5, "the SLO met on screen")
            assert str(table.get_cell("g1", "slo ms")).endswith("/1000")
            f = figures(app, 1)
            assert f.attainment == 1.0 and f.latency_ms >= 20.0  # at least the service time
            # the windows in the DB are open-loop from the change on: the same counts --json reads
            await wait_for(pilot, lambda: db_rows(db, "SELECT COUNT(*) n FROM windows WHERE tenant = 1 AND "
                                                      "scheduled IS NOT NULL")[0]["n"] > 0, 30, "open-loop windows in the DB")

            # a group that cannot keep up: added open-loop, its row goes red
            await app.session.supervisor.add_group(parse_spec("squeezenet1_0,framework=torch,rate=8,queue=4,slo=400"))
            await wait_for(pilot, lambda: group_row(app, 2) is not None and figures(app, 2) is not None
                           and figures(app, 2).met is False, 60, "g2 missing its SLO")
            await wait_for(pilot, lambda: isinstance(table.get_cell("g2", "group"), Text)
                           and table.get_cell("g2", "group").style == "bold red", 5, "g2 coloured")
            assert table.get_cell("g2", "slo ms").style == "bold red"
            assert table.get_cell("g1", "group") == "g1"  # the one within its SLO is not

            # rate 0: back to closed loop (a closed-loop SPEC has no SLO)
            table.move_cursor(row=0)
            await set_rate(pilot, app, "0", "")
            await wait_for(pilot, lambda: app.session.supervisor.groups[1].spec.rate is None, 10, "g1 closed loop")
            await wait_for(pilot, lambda: figures(app, 1) is None and table.get_cell("g1", "rate/s") == "", 10,
                           "g1's open-loop cells gone")
            t_closed = app.session.supervisor.now()
            await wait_for(pilot, lambda: db_rows(db, "SELECT COUNT(*) n FROM windows WHERE tenant = 1 AND "
                                                      "scheduled IS NULL AND t_start > ?", (t_closed,))[0]["n"] > 0,
                           30, "closed-loop windows again")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    kinds = [(e["kind"], e["detail"]) for e in db_rows(db, "SELECT kind, detail FROM events WHERE run = ? ORDER BY id",
                                                         (session.run_id,))]
    changes = [d for k, d in kinds if k == "rate_changed"]
    assert len(changes) == 2, kinds


async def test_s_runs_a_capacity_search(oracle_home):
    """`s` with the capacity kind: the search of `edgemt capacity` (run_experiment), its
    answer on the progress line and its levels in the results table; a form without a
    rate max or fps says why and starts nothing."""
    from textual.widgets import Select

    from tui.widgets.experiment_bar import ExperimentBar

    # 0.2 s a query, 2 queries a second per stream: each stream keeps up, so the answer is the most tried
    oracle_home.model("*", batch_s=0.2, from_start=True)
    session = oracle_session(oracle_home)
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.screen.query("#kind"), 10, "the experiment form")
            form = app.screen
            form.query_one("#kind", Select).value = "capacity"
            form.query_one("#spec", Input).value = "mobilenet_v2,framework=torch,isolation=thread"
            form.query_one("#max_level", Input).value = "2"
            form.query_one("#duration", Input).value = "1"
            form.query_one("#slo", Input).value = "p90:600"
            form.submit()
            await wait_for(pilot, lambda: "give a rate max" in str(form.query_one("#error", Static).render()), 10,
                           "the form's error")
            assert app.session.supervisor.groups == {}
            form.query_one("#fps", Input).value = "2"
            form.submit()
            await wait_for(pilot, lambda: not app.screen.query("#kind"), 10, "the form to close")
            bar = app.query_one(ExperimentBar)
            await wait_for(pilot, lambda: "max streams 2" in bar.text, 120, "the search's answer")
            assert "ended by reached --max" in bar.text
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    import json

    rows = db_rows(session.db, "SELECT key, value FROM results WHERE experiment = 'capacity'")
    keys = [(json.loads(r["key"]), json.loads(r["value"])) for r in rows]
    assert sorted(k["streams"] for k, _ in keys if k.get("kind") == "level") == [1, 2]
    summary = [v for k, v in keys if k.get("kind") == "summary"][0]
    assert summary["mode"] == "streams" and summary["max_streams"] == 2 and summary["fps"] == 2.0
    assert summary["slo"] == {"ms": 600.0, "percentile": 90.0}


async def test_s_tunes_for_the_most_streams_within_an_slo(oracle_home):
    """`s` with the tuner and objective slo (as `edgemt tune --objective slo`): the form's SLO
    and fps make each tenant a stream at fps queries a second judged against the SLO; the
    stored summary says objective slo with that SLO and rate. Without a stream rate the form
    says what is missing and starts nothing."""
    from textual.widgets import Select

    from tui.widgets.experiment_bar import ExperimentBar

    # 0.05 s a query at 2 queries a second per stream: every stream is served on its slot
    oracle_home.model("*", batch_s=0.05, from_start=True)
    session = oracle_session(oracle_home)
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.screen.query("#kind"), 10, "the experiment form")
            form = app.screen
            form.query_one("#kind", Select).value = "tune"
            form.query_one("#objective", Select).value = "slo"
            form.query_one("#spec", Input).value = "mobilenet_v2,framework=torch"
            form.query_one("#max_level", Input).value = "2"
            form.query_one("#batches", Input).value = "1"
            form.query_one("#duration", Input).value = "1"
            form.query_one("#slo", Input).value = "p90:600"
            form.submit()
            await wait_for(pilot, lambda: "objective slo needs each stream's rate: give fps" in str(
                form.query_one("#error", Static).render()), 10, "the form's error")
            assert app.session.supervisor.groups == {}
            form.query_one("#fps", Input).value = "2"
            form.query_one("#ok").focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.screen.query("#kind"), 10, "the form to close")
            bar = app.query_one(ExperimentBar)
            await wait_for(pilot, lambda: "best streams" in bar.text, 180, "the tuner's answer")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
    import json

    rows = db_rows(session.db, "SELECT key, value FROM results WHERE experiment = 'tune'")
    keys = [(json.loads(r["key"]), json.loads(r["value"])) for r in rows]
    summary = [v for k, v in keys if k.get("kind") == "summary"][0]
    assert summary["objective"] == "slo" and summary["rate"] == 2.0
    assert summary["slo"] == {"ms": 600.0, "percentile": 90.0}
    assert summary["best_streams"] >= 1 and summary["best_attainment"] >= 0.9
    configs = [v for k, v in keys if k.get("kind") == "config"]
    assert configs and all(v.get("slo_met") is not None for v in configs)  # each judged against the SLO
    started = [json.loads(e["detail"]) for e in db_rows(session.db, "SELECT detail FROM events WHERE kind = "
                                                                     "'experiment_started'")]
    assert started[0]["objective"] == "slo"


async def test_replay_shows_the_open_loop_figures_of_the_run(oracle_home):
    """A recorded run's open-loop group (edgemt run, oracle child) replays with the same
    figures as its --json: the goodput of the UI over the replayed windows is within/seconds
    of those windows, and a group missing its SLO is coloured."""
    import json

    from edgemt_testlib import run_edgemt
    from storage import queries
    from tui.replay import Recording

    oracle_home.model("mobilenet_v2", batch_s=0.02)
    oracle_home.model("squeezenet1_0", batch_s=0.25, from_start=True)
    r = run_edgemt("run", "--tenant", "mobilenet_v2,rate=10,slo=1000", "--tenant",
                   "squeezenet1_0,rate=8,queue=4,slo=400", "--duration", "3", "--window", "0.5", "--json", check=0)
    out = json.loads(r.stdout)
    app = make_app({"theme": "edgemt-dark"}, recording=Recording(oracle_home.db), at_end=True, save_theme=False)
    async with app.run_test(size=(160, 36)) as pilot:
        table = app.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, 10, "both groups on screen")
        ok, bad = figures(app, 1), figures(app, 2)
        assert (ok.rate, ok.slo_ms, ok.met) == (10.0, 1000.0, True)
        assert bad.met is False
        # the UI's figure is storage/queries.py's over the same windows (the last 30 of the tenant)
        rows = oracle_home.rows("SELECT t_start, t_end, within_slo, completed, dropped FROM windows WHERE tenant = ? "
                                "ORDER BY t_start", (out["tenants"][1]["id"],))[-30:]
        seconds = rows[-1][1] - rows[0][0]
        within = sum(x[2] for x in rows)
        assert bad.goodput == pytest.approx(queries.goodput(within, seconds))
        assert bad.attainment == pytest.approx(queries.attainment(within, sum(x[3] for x in rows),
                                                                  sum(x[4] for x in rows)))
        await wait_for(pilot, lambda: table.get_cell("g2", "group").style == "bold red", 5, "g2 coloured")
        await late_widgets_drawn(pilot)  # the app may not close while the chart mounts its plot
