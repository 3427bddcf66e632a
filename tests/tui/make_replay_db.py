"""Records the run the snapshot tests replay: real torch children on the CPU, driven by a
script through the same Session and Supervisor the UI uses (add two groups, step one up,
double the other's batch, pause and resume, then a short steady tail).

    .venv/bin/python tests/tui/make_replay_db.py tests/tui/data/replay.db

Re-recording changes the snapshots (different measured numbers): review them, then run
pytest with --snapshot-update.
"""
import asyncio
import sys
from pathlib import Path

from runners import config
from runners.spec import parse_spec
from tui.session import Session


async def record(db: Path) -> None:
    if db.exists():
        db.unlink()
    s = Session(db, "ui", {"recorded_for": "tests/tui snapshots"}, config.load(), window_s=1.0)
    s.supervisor.hang_windows = 30
    sup = s.supervisor

    async def warm(seconds):
        end = sup.now() + 120
        while any(t.status == "starting" for t in sup.all_tenants()) and sup.now() < end:
            await asyncio.sleep(0.2)
        await asyncio.sleep(seconds)

    try:
        await sup.add_group(parse_spec("mobilenet_v2,count=1"))
        await sup.add_group(parse_spec("squeezenet1_0,count=1"))
        await warm(4)
        await sup.step(1, 1)
        await warm(4)
        await sup.set_batch(2, 2)
        await asyncio.sleep(4)
        await sup.pause(2)
        await asyncio.sleep(2)
        await sup.resume(2)
        await asyncio.sleep(4)
    finally:
        await s.close("done")


if __name__ == "__main__":
    asyncio.run(record(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data" / "replay.db")))
