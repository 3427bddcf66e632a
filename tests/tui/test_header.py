"""The header's two rows: a long first row is cut at the edge, never wrapped over the run row
(Textual 6.2.1, the release Python 3.8 gets, wraps a long Static line; `make floor` runs this
with it)."""
from textual.app import App, ComposeResult

from tui.widgets.header import RunHeader


class FakeState:
    t = 75.0
    info = {"host": "a-rather-long-hostname-of-a-jetson-agx-orin", "cpu": "ARMv8 Processor rev 1 (v8l)",
            "cores": 12, "memory": "61.4 GB", "gpus": "Orin (nvgpu)", "edgetpus": "usb:0 usb:1",
            "run_id": 42, "frameworks": "torch 2.1, tflite 2.14", "db": "/home/user/edgemt.db"}

    def total_now(self):
        return 123.4


class HeaderApp(App):
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")

    def on_mount(self) -> None:
        self.query_one(RunHeader).show(FakeState())


async def test_a_long_first_row_does_not_hide_the_run_row():
    app = HeaderApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = app.query_one(RunHeader)
        rows = [strip.text for strip in header.render_lines(header.region.reset_offset)]
        assert rows[0].startswith(" edgemt ")
        assert rows[1].startswith(" run 42  0:01:15  total 123.4 img/s")
