"""`s` in the live UI starts an experiment with a progress line; results reach the DB."""
import json
import sqlite3

import pytest
from textual.widgets import Input, Select, Static

from runners import config
from tui.app import make_app
from tui_helpers import probed_envs, wait_for

pytestmark = pytest.mark.slow


async def test_s_runs_a_concurrency_sweep_on_tflite(live_session):
    from edgemt_testlib import require_env
    from runners import paths

    require_env("tflite")
    assert (paths.models_dir() / "tflite" / "mobilenet_v2_int8.tflite").exists() or pytest.fail(
        "make test prepares the tflite models")
    session = live_session()
    db = session.db
    app = make_app(config.load(), session, envs=probed_envs("tflite"), edgetpus=[], save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.query("#kind"), 10, "the experiment form")
        form = app.screen
        form.query_one("#spec", Input).value = "mobilenet_v2,framework=tflite,threads=1"
        form.query_one("#max_level", Input).value = "2"
        form.query_one("#strategy", Select).value = "linear"
        form.query_one("#duration", Input).value = "1"
        form.query_one("#ok").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.screen.query("#kind"), 10, "the form to close")
        from tui.widgets.experiment_bar import ExperimentBar

        bar = app.query_one(ExperimentBar)
        await wait_for(pilot, lambda: "max level 2" in bar.text, 180, "the sweep's answer")
        assert "best level" in bar.text
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    conn = sqlite3.connect(db)
    rows = [(json.loads(k), json.loads(v)) for k, v in
            conn.execute("SELECT key, value FROM results WHERE experiment = 'sweep-concurrency'")]
    levels = sorted(k["concurrency"] for k, v in rows if k.get("kind") == "level")
    assert levels == [1, 2]
    summary = [v for k, v in rows if k.get("kind") == "summary"][0]
    assert summary["max_level"] == 2 and summary["best_throughput"] > 0
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events")]
    assert "experiment_started" in kinds and "experiment_done" in kinds


async def test_bad_experiment_form_says_why_and_starts_nothing(live_session):
    session = live_session()
    app = make_app(config.load(), session, envs=probed_envs("torch"), edgetpus=[], save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.query("#kind"), 10, "the experiment form")
        app.screen.query_one("#max_level", Input).value = "zero"
        app.screen.query_one("#ok").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "max level 'zero' is not a number" in str(app.screen.query_one("#error", Static).content)
        await pilot.press("escape")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    assert not session.supervisor.groups
