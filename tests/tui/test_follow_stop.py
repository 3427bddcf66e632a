"""x in a UI that follows a run asks the run's own controller to stop it cleanly."""
import sqlite3
import subprocess
import time

import pytest

from edgemt_testlib import EDGEMT, require_env
from runners import config
from tui.app import make_app
from tui.replay import Follower
from tui_helpers import wait_for

pytestmark = pytest.mark.slow


def _status(db):
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT status FROM runs").fetchone()[0]
    finally:
        c.close()


async def test_x_stops_the_followed_run(edgemt_home):
    require_env("tflite")
    db = edgemt_home / "edgemt.db"
    run = subprocess.Popen([EDGEMT, "run", "--tenant", "mobilenet_v2,framework=tflite,count=2,threads=1",
                            "--duration", "120", "--window", "0.5", "--db", str(db)], stdout=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                if sqlite3.connect(db).execute("SELECT COUNT(*) FROM windows").fetchone()[0] > 0:
                    break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.3)
        follower = Follower(db, 1)
        app = make_app(config.load(), follower=follower, save_theme=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.state.groups(), 30, "the followed run's groups")
            await pilot.press("x")
            await wait_for(pilot, lambda: run.poll() is not None, 60, "the run's controller to stop")
            await pilot.press("x")  # a second x: the run is over, nothing to signal
            await pilot.press("q")
        assert run.returncode == 130  # stopped by the user (SIGTERM): docs/cli.md
        assert _status(db) == "interrupted"  # stopped by a signal, its tenants stopped cleanly
        c = sqlite3.connect(db)
        assert c.execute("SELECT COUNT(*) FROM tenants WHERE status = 'failed'").fetchone()[0] == 0
    finally:
        run.kill()


def test_stop_run_refuses_a_pid_that_is_not_edgemt(tmp_path):
    from storage.store import Store

    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        st = Store(tmp_path / "f.db")
        run_id = st.create_run("run", {})
        st.conn.execute("UPDATE runs SET controller_pid = ? WHERE id = ?", (sleeper.pid, run_id))
        st.close()
        answer = Follower(tmp_path / "f.db", run_id).stop_run()
        assert "no longer its controller" in answer and sleeper.poll() is None
    finally:
        sleeper.kill()
