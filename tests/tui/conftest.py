"""Fixtures of the UI tests: a live Session on real CPU runner children (short windows,
private DB and config), and the recorded run the snapshot tests replay."""
import shutil

import pytest

from tui_helpers import REPLAY_DB


@pytest.fixture
def live_session(edgemt_home):
    """A real Session (real torch children, host sampler at 2 Hz), 0.5 s windows, tmp DB."""
    from runners import config
    from tui.session import Session

    cfg = config.load()
    sessions = []

    def make():
        s = Session(edgemt_home / "ui.db", "ui", {}, cfg, window_s=0.5, logs_dir=edgemt_home / "logs")
        # 0.5 s windows make the default hang limit 2 s; on a loaded 2-core test box a busy
        # child can be that late without being hung.
        s.supervisor.hang_windows = 30
        sessions.append(s)
        return s

    return make


@pytest.fixture
def replay_db(tmp_path):
    dst = tmp_path / "replay.db"
    shutil.copy(REPLAY_DB, dst)
    return dst
