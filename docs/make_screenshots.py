"""Writes the UI screenshots of README.md and docs/ui.md (docs/img/*.svg) from the recorded
run the UI's snapshot tests replay (tests/tui/data/replay.db), with the same fixed header
facts, so they show the real UI as it is now; with ``--live``, also docs/img/ui-live.svg:
a live run on this machine (torch and tflite groups on the CPU, one stepped up), taken
after about 25 s, its header showing this host.

    .venv/bin/python docs/make_screenshots.py [--live]
"""
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "tui")]

from tui.app import make_app  # noqa: E402
from tui.replay import Recording  # noqa: E402
from tui_helpers import FIXED_INFO, REPLAY_DB, late_widgets_drawn  # noqa: E402

SHOTS = [("ui-dark.svg", "edgemt-dark", (120, 36)), ("ui-light.svg", "edgemt-light", (120, 36)),
         ("ui-ansi-80x24.svg", "edgemt-ansi", (80, 24))]


async def shoot(db: Path, theme: str, size) -> str:
    app = make_app({"theme": theme, "step": 4}, recording=Recording(db), info=FIXED_INFO, at_end=True,
                   save_theme=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        await late_widgets_drawn(pilot)
        await pilot.pause()
        return app.export_screenshot(title="edgemt")


async def shoot_live(tmp: Path) -> str:
    from runners import config
    from runners.spec import parse_spec
    from tui.session import Session

    cfg = config.load()
    session = Session(tmp / "live.db", "ui", {}, cfg)
    app = make_app(cfg, session, save_theme=False)
    sup = session.supervisor
    async with app.run_test(size=(120, 36)) as pilot:
        torch = await sup.add_group(parse_spec("mobilenet_v2,count=1,threads=1"))
        await sup.add_group(parse_spec("mobilenet_v2,framework=tflite,count=2,threads=1"))
        await pilot.pause(10)
        await sup.step(torch.id, 1)
        await pilot.pause(15)
        shot = app.export_screenshot(title="edgemt")
        await session.close("done")
    return shot


def main():
    if "--live" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            out = ROOT / "docs" / "img" / "ui-live.svg"
            out.write_text(asyncio.run(shoot_live(Path(tmp))))
            print(f"wrote {out.relative_to(ROOT)} (a live run on this machine, 120x36)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "replay.db"
        shutil.copy(REPLAY_DB, db)
        for name, theme, size in SHOTS:
            out = ROOT / "docs" / "img" / name
            out.write_text(asyncio.run(shoot(db, theme, size)))
            print(f"wrote {out.relative_to(ROOT)} ({theme}, {size[0]}x{size[1]})")


if __name__ == "__main__":
    main()
