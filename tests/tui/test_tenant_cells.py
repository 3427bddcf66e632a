"""The tenants table draws what it holds. It keeps drawn cells by their place, value and
style (tui/widgets/tenants.py ``_render_cell``, issue 13: a refresh or an unfold draws
only the cells that changed), so these check the lines on screen, not the table's data:
a figure that changes, rows that unfold and fold under the same places, and a cell whose
style alone changes (an SLO turning from met to missed with the same figures)."""
from rich.text import Text

from tui import messages as msg
from tui.app import make_app
from tui.widgets.tenants import MISSED_STYLE, TENANT_ROWS

PER_GROUP = 30


def lines(table) -> list:
    """The table's lines as drawn (header first)."""
    return [table.render_line(y).text for y in range(table.size.height)]


def feed(app, second: int, images) -> None:
    for i in range(3 * PER_GROUP):
        app.state.on_window(msg.WindowDone(i + 1, float(second), float(second + 1), images(i), images(i), 1,
                                           {"20": 10}))


def line_of(table, key: str) -> str:
    keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
    return lines(table)[1 + keys.index(key)]


async def test_changed_figures_and_moved_rows_are_drawn_again():
    app = make_app({"theme": "edgemt-dark"}, info={"host": "test", "run_id": 0}, save_theme=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for i in range(3 * PER_GROUP):
            app.state.on_tenant(msg.TenantChanged(i + 1, i // PER_GROUP + 1, "mobilenet_v2", "torch", "cpu", 1,
                                                  "thread", 1, "running"))
        feed(app, 0, lambda i: 10)
        app.refresh_view()
        await pilot.pause()
        table = app.query_one("#tenants")
        assert table.row_count == 3
        assert "300.0" in line_of(table, "g1")  # 30 tenants of 10 img/s

        feed(app, 1, lambda i: 20)  # new figures, the same places
        app.refresh_view()
        await pilot.pause()
        assert "600.0" in line_of(table, "g1") and "300.0" not in line_of(table, "g1")

        table.move_cursor(row=0)
        await pilot.press("enter")  # unfold g1: its tenants take the places of g2 and g3
        await pilot.pause()
        assert table.row_count == 3 + TENANT_ROWS + 1
        shown = lines(table)
        assert shown[2].split()[0] == "t1" and shown[3].split()[0] == "t2"
        await pilot.press("enter")  # fold: g2 and g3 are back where t1 and t2 were
        await pilot.pause()
        assert table.row_count == 3
        shown = lines(table)
        assert shown[2].split()[0] == "g2" and shown[3].split()[0] == "g3"
        assert all(not line.strip() for line in shown[4:])  # nothing left of the tenant rows


def q(scheduled, completed, dropped, within, qhist):
    return dict(scheduled=scheduled, started=completed, completed=completed, dropped=dropped, within=within,
                queue=0, lag_sum=0.0, lag_max=0.0, lag_hist={}, qhist=qhist)


def slo_style(table) -> str:
    """The style the SLO cell of the second row (g2; the cursor is on g1) is drawn with."""
    strip = table.render_line(2)
    text = str(table.get_cell("g2", "slo ms"))
    return " ".join(str(seg.style) for seg in strip if seg.text.strip() == text)


async def test_a_style_change_alone_is_drawn():
    app = make_app({"theme": "edgemt-dark"}, info={"host": "test", "run_id": 0}, save_theme=False)
    async with app.run_test(size=(220, 36)) as pilot:  # wide enough for the open-loop columns
        table = app.query_one("#tenants")
        state = app.state
        for tid in (1, 2):  # g2's SLO cell is looked at; the cursor stays on g1
            state.on_tenant(msg.TenantChanged(tid, tid, "mobilenet_v2", "torch", "cpu", 1, "thread", 1, "running",
                                              rate=10.0, slo_ms=100.0, slo_pct=99.0))
        # the same latency under the 100 ms SLO, met, then missed: half the queries dropped
        for tid in (1, 2):
            state.on_window(msg.WindowDone(tid, 0.0, 1.0, 10, 10, 1, {}, q(10, 10, 0, 10, {"50": 10})))
        app.refresh_view()
        await pilot.pause()
        cell = table.get_cell("g2", "slo ms")
        assert isinstance(cell, Text) and cell.style == "green"
        text = str(cell)
        assert "green" in slo_style(table) and "red" not in slo_style(table)

        state.on_event(msg.RunEvent(1.0, "rate_changed", None, {"group": 2, "to": 10.0, "slo_ms": 100.0,
                                                                 "slo_pct": 99.0}))  # g2's figures start afresh
        state.on_window(msg.WindowDone(2, 1.0, 2.0, 5, 5, 1, {}, q(10, 5, 5, 5, {"50": 5})))
        app.refresh_view()
        await pilot.pause()
        cell = table.get_cell("g2", "slo ms")
        assert str(cell) == text and cell.style == MISSED_STYLE  # the same figures, another colour
        assert "red" in slo_style(table), slo_style(table)


async def test_full_collections_are_spread_while_the_ui_runs():
    """A full garbage collection held the loop ~150 ms every few seconds at 2,000 tenants
    (docs/benchmarks.md): the UI makes them rarer while it runs, and gives the process its
    own thresholds back when it ends."""
    import gc

    from tui.app import FULL_GC_AFTER

    before = gc.get_threshold()
    app = make_app({"theme": "edgemt-dark"}, info={"host": "test", "run_id": 0}, save_theme=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert gc.get_threshold() == (before[0], before[1], max(before[2], FULL_GC_AFTER))
    assert gc.get_threshold() == before
