"""The run screen (tui/run_screen.py): the app's default screen, laid out for the terminal's
size even while a form is on top of it, and asking the app only through public names."""
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


def test_the_screen_asks_the_app_only_through_public_names():
    """The run screen asks the app through RunHost and Textual's App API, never a private
    attribute of the app (``self.app._x``, ``self.host._x``, ``host._x``)."""
    import ast
    from pathlib import Path

    import tui.run_screen

    tree = ast.parse(Path(tui.run_screen.__file__).read_text())
    private = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("app", "host"):
                private.append(f"{base.id}.{node.attr}")
            elif (isinstance(base, ast.Attribute) and base.attr in ("app", "host")
                  and isinstance(base.value, ast.Name) and base.value.id == "self"):
                private.append(f"self.{base.attr}.{node.attr}")
    assert private == []
    # what it asks of the app is named in RunHost, and the app has each of those names
    from tui.app import make_app
    from tui.run_screen import RunHost

    app = make_app({}, save_theme=False)
    wanted = set(RunHost.__annotations__) | {"run_command", "stop_run"}
    assert not [name for name in wanted if not hasattr(app, name)]
