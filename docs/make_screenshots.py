"""Writes the UI screenshots of README.md and docs/ui.md (docs/img/*.svg) from the recorded
run the UI's snapshot tests replay (tests/tui/data/replay.db), with the same fixed header
facts, so they show the real UI as it is now.

    .venv/bin/python docs/make_screenshots.py
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
from tui_helpers import FIXED_INFO, REPLAY_DB  # noqa: E402

SHOTS = [("ui-dark.svg", "edgemt-dark", (120, 36)), ("ui-light.svg", "edgemt-light", (120, 36)),
         ("ui-ansi-80x24.svg", "edgemt-ansi", (80, 24))]


async def shoot(db: Path, theme: str, size) -> str:
    app = make_app({"theme": theme, "step": 4}, recording=Recording(db), info=FIXED_INFO, at_end=True,
                   save_theme=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        chart, events = app.query_one("#chart"), app.query_one("#events")
        for _ in range(60):  # until what mounts after the first frame has drawn
            if (chart.draws or not chart.display) and events.log_widget is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        return app.export_screenshot(title="edgemt")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "replay.db"
        shutil.copy(REPLAY_DB, db)
        for name, theme, size in SHOTS:
            out = ROOT / "docs" / "img" / name
            out.write_text(asyncio.run(shoot(db, theme, size)))
            print(f"wrote {out.relative_to(ROOT)} ({theme}, {size[0]}x{size[1]})")


if __name__ == "__main__":
    main()
