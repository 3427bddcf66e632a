"""A subscriber that raises does not stop the run, and its error is logged (not swallowed):
the first with its traceback, not once a window. Runner children are the oracle child
(tests/oracle/oracle_child.py): the real protocol, no framework environment."""
import asyncio
import logging

from runners import config
from runners.spec import parse_spec
from runners.tenant_state import TenantState
from tui.session import Session


class Broken:
    def __call__(self, kind, data):
        raise RuntimeError(f"broken subscriber on {kind}")

    def __repr__(self):
        return "<Broken subscriber>"


async def test_a_raising_subscriber_is_logged_and_the_others_still_hear(oracle_home, caplog):
    oracle_home.model("*", batch_s=0.02)
    session = Session(oracle_home.db, "test", {}, config.load(), window_s=0.2, collectors=[])
    sup = session.supervisor
    heard = []
    sup.subscribe(Broken())
    sup.subscribe(lambda kind, data: heard.append(kind))
    caplog.set_level(logging.ERROR, logger="runners.supervisor")
    try:
        g = await sup.add_group(parse_spec("mobilenet_v2,framework=tflite,threads=1"))
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while heard.count("window") < 5:
            assert loop.time() < end, heard
            await asyncio.sleep(0.05)
        assert g.active[0].status == TenantState.RUNNING
    finally:
        await session.close("done")
    records = [r for r in caplog.records if "<Broken subscriber>" in r.getMessage()]
    assert records, "the subscriber's error was swallowed"
    assert records[0].exc_info and "broken subscriber on" in str(records[0].exc_info[1])
    # logged at its 1st, 10th, 100th ... error: not once a notification
    assert len(records) < len([k for k in heard])
    assert len(records) <= 3
