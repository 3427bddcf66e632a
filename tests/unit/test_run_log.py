"""Typed seams of the supervisor: the store is a RunLog (runners/run_log.py) and every store
method the supervisor calls is in it; a RunnerProcess (runners/runner_process.py) tells its
owner what happens through callbacks only."""
import asyncio
import re
import sys
from pathlib import Path

import runners.supervisor
from runners.run_log import RunLog
from runners.runner_process import RunnerProcess
from storage.store import Store

SRC = Path(runners.supervisor.__file__)


def test_the_store_is_a_run_log(tmp_path):
    st = Store(tmp_path / "r.db")
    try:
        assert isinstance(st, RunLog)
    finally:
        st.close()


def test_the_supervisor_calls_nothing_of_the_store_outside_run_log():
    called = set(re.findall(r"self\.store\.(\w+)", SRC.read_text()))
    assert called and called <= set(dir(RunLog)), called - set(dir(RunLog))
    assert "hasattr(self.store" not in SRC.read_text()


def test_runner_process_reports_through_its_callbacks(tmp_path):
    # a stand-in child: answers hello, one report the owner rejects, then exits 0
    script = tmp_path / "child"
    script.write_text(f"#!{sys.executable}\n"
                      "import json\n"
                      "print(json.dumps({'ev': 'hello', 'pid': 1}), flush=True)\n"
                      "print(json.dumps({'ev': 'window', 'tenant': 7}), flush=True)\n")
    script.chmod(0o755)
    seen = []

    def on_report(runner, msg):
        if msg["ev"] == "window":
            raise ValueError("no tenant 7")
        seen.append(("report", msg["ev"]))

    async def main():
        done = asyncio.Event()
        r = RunnerProcess("torch", str(script), tmp_path / "logs" / "r.log",
                          on_report=on_report,
                          on_bad_report=lambda runner, msg, exc: seen.append(("bad", msg["ev"], str(exc))),
                          on_exit=lambda runner: (seen.append(("exit", runner.returncode)), done.set()))
        await r.start()
        await asyncio.wait_for(done.wait(), 60)

    asyncio.run(main())
    assert seen == [("report", "hello"), ("bad", "window", "no tenant 7"), ("exit", 0)]
