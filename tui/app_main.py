"""``edgemt`` with no subcommand (the live UI) and ``edgemt replay RUN``.

The UI runs in an asyncio loop this module owns, so that with ``--keep-running`` a lost
terminal (SIGHUP) ends only the UI: the Supervisor, its children and the DB writer live
on in the same loop, headless, until SIGTERM or SIGINT stops them cleanly.
"""
import asyncio
import sys

from runners import config
from runners.errors import BadInput
from storage import schema
from tui.exit_codes import ExitCode
from tui.session import resolve_db


def running_runs(db) -> list:
    """Runs whose controller is still alive (after dead ones were marked interrupted)."""
    from storage.store import live_runs

    if schema.identify(db) == "new":
        return []
    return live_runs(db)


def require_terminal(what: str = "the UI") -> None:
    """The UI reads keys from stdin and draws on stderr (Textual): without a terminal there
    it would run unattended, writing the DB, until killed. Refused before anything starts."""
    missing = [name for name, stream in (("stdin", sys.stdin), ("stderr", sys.stderr))
               if stream is None or not stream.isatty()]
    if missing:
        raise BadInput(f"{what} needs a terminal ({' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                       "not one); without a terminal use 'edgemt run --tenant SPEC', or start the UI in a terminal "
                       "with --keep-running so that it goes on if the terminal is lost")


def ui_command(args) -> int:
    from pathlib import Path

    if isinstance(getattr(args, "follow", None), Path):  # --follow FLEET.db
        return follow_fleet_command(args.follow, config.load())
    require_terminal()
    cfg = config.load()
    db = resolve_db(getattr(args, "db", None), cfg)
    from tui.session import db_flag

    schema.check_path(db, db_flag(getattr(args, "db", None), cfg))
    schema.identify(db, db_flag(getattr(args, "db", None), cfg))  # refuses another program's DB or a newer schema before anything starts
    follow = getattr(args, "follow", None)
    if follow is None and not getattr(args, "new", False):
        live = running_runs(db)
        if live and sys.stdin.isatty():
            follow = _ask_follow(live)
    if follow:
        return follow_command(db, cfg, follow)
    return asyncio.run(_live(args, cfg, db))


def _ask_follow(live: list):
    """Lists runs in progress; returns the run id to follow, or None for a new run."""
    print("runs in progress in this DB:")
    for r in live:
        print(f"  run {r['id']} ({r['kind']}, started {r['started']}, controller pid {r['controller_pid']})")
    try:
        answer = input(f"follow which run? [{live[-1]['id']}; n = start a new run] ").strip().lower()
    except EOFError:
        return None
    if answer in ("n", "new"):
        return None
    try:
        return int(answer) if answer else live[-1]["id"]
    except ValueError:
        return None


async def _live(args, cfg, db) -> int:
    from signal import SIGHUP, SIGINT, SIGTERM

    from tui.app import make_app
    from tui.session import Session

    keep = bool(getattr(args, "keep_running", False))
    # One lifecycle, the Session's (tui/session.py), from before the first frame to the
    # run's end. The Session is opened in a thread once the first frame is on screen
    # (make_app's session_factory): opening the DB, the host fingerprint, the collectors and
    # the sampler do not delay the UI's start. While the UI is on screen, the signals the
    # Session takes go to the app (q, SIGTERM, SIGINT, a lost terminal: tui/app.py), which
    # stops and closes the run through Session.close; once it has gone, SIGTERM and SIGINT
    # stop the run and SIGHUP is ignored.
    session = Session(db, "ui", {"keep_running": keep}, cfg, defer_open=True)
    app = make_app(cfg, session_factory=session.open, keep_running=keep)
    failure = None
    async with session.handling(stop=(SIGTERM, SIGINT), ignore=(SIGHUP,), db_error_stops=False):
        session.on_signal = app.on_signal
        try:
            await app.run_async()
        except BaseException as exc:  # raised once the run is closed, as the app left it
            failure = exc
        finally:
            session.on_signal = None
        if session.status == "running":
            await _after_ui(app, session)
    if failure is not None:
        raise failure
    if app.startup_error is not None:
        raise app.startup_error
    return ExitCode.OK


async def _after_ui(app, session) -> None:
    """The run the UI left open: detached from a lost terminal (``--keep-running``) it goes
    on headless until SIGTERM or SIGINT, then ends ``done``; otherwise it ends at once,
    ``interrupted`` unless the UI was closing it (``done``)."""
    if app.detached:
        # the "detached" event was recorded by the app when the terminal went away
        await session.stop.wait()
        session.outcome = "done"
    else:
        session.outcome = "done" if app.closing else "interrupted"


def follow_command(db, cfg, run_id: int) -> int:
    from tui.app import make_app
    from tui.replay import Follower

    follower = Follower(db, run_id)
    make_app(cfg, follower=follower).run()
    return ExitCode.OK


def follow_fleet_command(db, cfg) -> int:
    """``edgemt --follow FLEET.db``: every board's run of a fleet DB (tui/fleet_follow.py),
    read-only. A path that is not a fleet DB is refused before the terminal is needed."""
    from tui.app import make_app
    from tui.fleet_follow import FleetFollower

    if not db.is_file():
        raise BadInput(f"--follow {db} is not a file; give a run id, or the fleet DB of edgemt fleet run")
    schema.identify(db, "--follow")  # another program's DB is refused, never opened
    follower = FleetFollower(db)
    try:
        require_terminal()
        make_app(cfg, follower=follower).run()
    finally:
        follower.close()
    return ExitCode.OK


def replay_command(args) -> int:
    from tui.app import make_app
    from tui.replay import Recording

    require_terminal("edgemt replay")
    cfg = config.load()
    db = resolve_db(args.db, cfg)
    if not db.exists():
        raise BadInput(f"--db {db} does not exist; give the DB a run was recorded in")
    if args.speed is not None and args.speed < 0:
        raise BadInput(f"--speed {args.speed} is negative; give a factor > 0 (0 jumps to the end)")
    recording = Recording(db, args.run)
    make_app(cfg, recording=recording, speed=args.speed if args.speed is not None else 1.0).run()
    return ExitCode.OK
