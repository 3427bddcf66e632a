"""The run screen (tui/run_screen.py): the app's default screen, laid out for the terminal's
size even while a form is on top of it."""
from tui.app import make_app


async def test_a_resize_under_a_form_lays_out_the_run_screen():
    """The terminal shrinks to 80x24 while the help screen is open: once it is closed, the
    run's panes are in the 80x24 layout (no chart), not the help screen."""
    app = make_app({"theme": "edgemt-dark"}, info={"host": "test", "run_id": 0}, save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        chart = app.query_one("#chart")
        assert chart.display
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is not app.screen_stack[0]  # the help screen is on top
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is app.screen_stack[0]
        assert not chart.display  # the 80x24 layout: no chart
