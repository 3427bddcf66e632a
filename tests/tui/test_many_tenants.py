"""Hundreds of tenants in the live UI (issue 13): the tenants pane shows one row per group
(the tenants one SPEC started) with the group's aggregates, not one row per tenant; an
unfolded group shows its first tenants and one row counting the rest. On the oracle child
(tests/oracle: the real protocol and supervisor, batches of a known time, no framework):
300 thread tenants in three groups. Keys in, screen out; nothing here is timed."""
import pytest

from runners import config
from runners.spec import parse_spec
from tui.app import make_app
from tui.session import Session
from tui.widgets.tenants import TENANT_ROWS
from tui_helpers import wait_for

pytestmark = pytest.mark.slow

GROUPS = ("mobilenet_v2", "squeezenet1_0", "resnet18")
PER_GROUP = 100


def keys(table) -> list:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def test_three_hundred_tenants_are_three_group_rows(oracle_home):
    oracle_home.model("*", base_s=0.2)  # five batches a second a tenant: little CPU for 300
    session = Session(oracle_home.db, "ui", {}, config.load(), window_s=0.5, collectors=[],
                      logs_dir=oracle_home.home / "logs")
    session.supervisor.hang_windows = 30  # a loaded 2-core box can be late by seconds without a hang
    app = make_app(config.load(), session, envs={}, edgetpus=[], save_theme=False)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one("#tenants")
            for model in GROUPS:
                await session.supervisor.add_group(
                    parse_spec(f"{model},framework=torch,isolation=thread,threads=1,count={PER_GROUP}"))
            sup = session.supervisor
            await wait_for(pilot, lambda: sum(1 for t in sup.all_tenants() if t.status == "running")
                           == len(GROUPS) * PER_GROUP and all(t.n_windows for t in sup.all_tenants()), 180,
                           "every tenant running and reporting windows")
            # one row a group, each with its tenant count and a throughput, drawn on the timer
            await wait_for(pilot, lambda: table.row_count == len(GROUPS)
                           and all(table.get_cell(f"g{i}", "n") == str(PER_GROUP) for i in (1, 2, 3))
                           and all(table.get_cell(f"g{i}", "now/s") not in ("-", "0.0") for i in (1, 2, 3)), 30,
                           "three group rows with n=100 and a throughput")
            assert keys(table) == ["g1", "g2", "g3"]
            assert [str(table.get_cell(f"g{i}", "model")) for i in (1, 2, 3)] == list(GROUPS)

            table.move_cursor(row=1)
            await pilot.press("enter")  # unfold g2: its first tenants and one row for the rest
            await wait_for(pilot, lambda: table.row_count == len(GROUPS) + TENANT_ROWS + 1, 10, "g2 unfolded")
            shown = keys(table)
            g2 = [t.id for t in sup.groups[2].tenants]
            assert shown[:2] == ["g1", "g2"] and shown[-1] == "g3"
            assert shown[2:2 + TENANT_ROWS] == [f"g2-t{tid}" for tid in g2[:TENANT_ROWS]]
            assert shown[2 + TENANT_ROWS] == "g2-more"
            more = str(table.get_cell("g2-more", "model"))
            assert more == f"+{PER_GROUP - TENANT_ROWS} more tenants (t{g2[TENANT_ROWS]}-t{g2[-1]})", more

            await pilot.press("enter")  # fold it again (the cursor stays on g2's rows)
            await wait_for(pilot, lambda: table.row_count == len(GROUPS), 10, "g2 folded")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 120, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
