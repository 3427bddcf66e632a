"""The live UI says when the tenants' intra-op threads outnumber the cores (issue 11,
defect 11): two torch tenants with the default threads (one per core each), run by the
oracle child (tests/oracle), so no framework is needed."""
from runners import config, threads
from runners.spec import parse_spec
from tui.app import make_app
from tui_helpers import wait_for


async def test_two_default_torch_tenants_are_said_to_oversubscribe(oracle_home):
    from tui.session import Session

    session = Session(oracle_home.db, "ui", {}, config.load(), window_s=0.5, collectors=[],
                      logs_dir=oracle_home.home / "logs")
    app = make_app(config.load(), session, envs={}, edgetpus=[], save_theme=False)
    cores = threads.cpu_cores()
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await session.supervisor.add_group(parse_spec("mobilenet_v2"))
            await wait_for(pilot, lambda: any(t.status == "running" for t in session.supervisor.all_tenants()), 60,
                           "one tenant running")
            assert app._oversubscribed is None  # one pool of one thread per core: not oversubscribed
            await session.supervisor.add_group(parse_spec("squeezenet1_0"))
            await wait_for(pilot, lambda: app._oversubscribed is not None, 60, "the oversubscription warning")
            assert app._oversubscribed == f"{2 * cores} intra-op threads on {cores} cores"
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 60, "the app to exit")
    finally:
        if session.status == "running":
            await session.close("failed")
