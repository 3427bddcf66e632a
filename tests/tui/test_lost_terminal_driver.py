"""The UI's driver drops its output once the terminal is lost (tui/lost_terminal.py): a
draw after SIGHUP must not reach Textual's writer thread, dead on the gone tty."""
from textual.driver import Driver

from tui.app import make_app
from tui.lost_terminal import quiet_driver


class RecordingDriver(Driver):
    """The part of a Textual driver that output goes through, recorded."""

    def __init__(self, app, *args, **kwargs):
        super().__init__(app, *args, **kwargs)
        self.written = []
        self.flushes = 0

    def write(self, data: str) -> None:
        self.written.append(data)

    def flush(self) -> None:
        self.flushes += 1

    def start_application_mode(self) -> None:
        pass

    def disable_input(self) -> None:
        pass

    def stop_application_mode(self) -> None:
        pass


async def test_output_goes_nowhere_once_the_terminal_is_lost():
    app = make_app({}, save_theme=False)
    driver = quiet_driver(RecordingDriver)(app)
    driver.write("frame 1")
    driver.flush()
    app.terminal_lost = True  # what tui.lost_terminal.silence sets on SIGHUP
    driver.write("frame 2")
    driver.flush()
    assert driver.written == ["frame 1"] and driver.flushes == 1


def test_the_app_runs_on_the_platforms_driver_made_quiet():
    app = make_app({}, save_theme=False)
    assert app.terminal_lost is False
    base = super(type(app), app).get_driver_class()
    assert issubclass(app.driver_class, base) and app.driver_class.__name__ == f"Quiet{base.__name__}"
