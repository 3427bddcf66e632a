"""``edgemt fleet``: the boards joined to a Ray cluster, and one plan run on many of them.

``fleet boards`` lists the joined boards with their fingerprint (a short task on each:
the host fingerprint of tui/session.py and the board's own ``edgemt devices --json``);
``fleet run PLAN`` checks the plan (runners/fleet/plan.py) and its boards before anything
starts, then runs it (runners/fleet/head.py) into one fleet DB. Ray is imported only when
one of these commands runs.
"""
import contextlib
import json
import sys

from tui.exit_codes import ExitCode
from tui.stdout import keep_native_writes_off_stdout


def add_parser(sub, common):
    f = sub.add_parser("fleet", help="many boards on one Ray cluster: list them, run one plan on them")
    from tui.arguments import Parser

    fsub = f.add_subparsers(dest="fleet_command", parser_class=Parser)
    b = fsub.add_parser("boards", help="the joined boards and their fingerprint (a short task on each)")
    b.add_argument("--address", help="the Ray head, HOST:PORT (default: $RAY_ADDRESS, else the local cluster)")
    b.add_argument("--json", action="store_true")
    r = fsub.add_parser("run", help="run a plan (TOML, docs/cli.md) on its boards into one DB")
    r.add_argument("plan", metavar="PLAN", help="the plan file: [boards.NAME] tables of tenants, duration, window")
    r.add_argument("--address", help="the Ray head, HOST:PORT (default: $RAY_ADDRESS, else the local cluster)")
    common(r)
    st = fsub.add_parser("status", help="each board's run in a fleet DB: status, windows, images, last window")
    common(st)
    return f


def board_fingerprint() -> dict:
    """Runs on a board (a Ray task): its host fingerprint and ``edgemt devices --json``."""
    import subprocess

    from runners.fleet.board import edgemt_command, run_env
    from tui.session import host_fingerprint

    out = {"host": host_fingerprint()}
    try:
        r = subprocess.run(edgemt_command() + ["devices", "--json"], capture_output=True, text=True,
                           env=run_env(), timeout=600)
        out["devices"] = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr.strip()[-300:]}
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        out["devices"] = {"error": str(exc)}
    return out


def _board_row(name: str, fp: dict) -> dict:
    host = fp.get("host") or {}
    dev = fp.get("devices") or {}
    return {
        "board": name,
        "model": host.get("board_model") or host.get("cpu_model"),
        "hostname": host.get("hostname"),
        "kernel": host.get("kernel"),
        "python": host.get("python"),
        "frameworks": {f["framework"]: f.get("version") for f in dev.get("frameworks", []) if f.get("available")},
        "resources": [r["resource"] for r in dev.get("resources", [])],
        "sensors": [c["name"] for c in dev.get("collectors", []) if c.get("available")],
        "error": fp.get("error") or dev.get("error"),
        "fingerprint": fp,
    }


def boards_command(args) -> int:
    from runners.fleet.head import connect, on_each_board

    # Ray's own lines (a node that died, a raylet's log) stay off stdout: its Python and its native parts
    keep_native_writes_off_stdout()
    with contextlib.redirect_stdout(sys.stderr):
        ray = connect(args.address)
        rows = [_board_row(n, fp) for n, fp in on_each_board(ray, board_fingerprint).items()]
    if args.json:
        print(json.dumps({"boards": rows}))
        return ExitCode.OK
    if not rows:
        print("no board has joined; on each board: ray start --address HEAD "
              "--resources '{\"edgemt\": 1, \"board:NAME\": 1}'")
    for r in rows:
        if r["error"]:
            print(f"{r['board']}: {r['error']}")
            continue
        fws = ", ".join(f"{k} {v or '?'}" for k, v in r["frameworks"].items()) or "no framework"
        print(f"{r['board']}: {r['model']} ({r['hostname']}, {r['kernel']}, Python {r['python']}); {fws}; "
              f"resources {', '.join(r['resources'])}; sensors {', '.join(r['sensors']) or '-'}")
    return ExitCode.OK


def run_command(args) -> int:
    from runners import config
    from runners.fleet.plan import expand, load_plan, selectors
    from storage import schema
    from tui.session import db_flag, resolve_db

    plan = load_plan(args.plan)  # every SPEC and number, before Ray or the DB
    check_commands(plan)
    cfg = config.load()
    db = resolve_db(args.db, cfg)
    flag = db_flag(args.db, cfg)
    schema.check_path(db, flag)
    schema.identify(db, flag)
    from runners.fleet.head import connect, run_plan

    # Ray's own lines (a node that died, a raylet's log) stay off stdout: its Python and its native parts
    keep_native_writes_off_stdout()
    out = sys.stdout

    def on_rows(board, counts, res):
        if not args.json and counts.get("runs"):
            print(f"{board}: run started on the board ({res['db']})", file=out, flush=True)

    with contextlib.redirect_stdout(sys.stderr):
        ray = connect(args.address)
        if selectors(plan):  # "every board with an EdgeTPU": by each joined board's fingerprint
            from runners.fleet.head import on_each_board

            fps = {n: _board_row(n, fp) for n, fp in on_each_board(ray, board_fingerprint).items()}
            plan = expand(plan, {n: {"resources": r["resources"], "frameworks": list(r["frameworks"])}
                                 for n, r in fps.items() if not r["error"]})
        outcomes, interrupted = run_plan(ray, plan, db, flag=flag, on_rows=on_rows)
    boards = []
    for o in outcomes:
        try:
            summary = json.loads(o.summary) if o.summary.strip() else None
        except ValueError:
            summary = None
        boards.append({"board": o.board, "state": o.state, "exit": o.exit, "runs": o.runs,
                       "total_throughput": (summary or {}).get("total_throughput"),
                       "images": (summary or {}).get("images"), "detail": o.detail or None, **(o.clock or {})})
    launches = [b["launched_at"] for b in boards if b.get("launched_at") is not None]
    # how far apart the boards' runs started, on the head's clock (each board's launch time
    # corrected by its measured offset, known to within half its round trip)
    skew = round(max(launches) - min(launches), 6) if plan.sync_start and len(launches) > 1 else None
    # how far apart the boards' measured phases began (edgemt run --measure-at), on the head's clock
    phases = [b["measured_at"] for b in boards if b.get("measured_at") is not None]
    measure_skew = round(max(phases) - min(phases), 6) if plan.sync_start and len(phases) > 1 else None
    if args.json:
        print(json.dumps({"db": str(db), "boards": boards, "interrupted": interrupted, "sync_start": plan.sync_start,
                          "start_skew_s": skew, "measure_skew_s": measure_skew}))
    else:
        for b in boards:
            tp = f"{b['total_throughput']} img/s" if b["total_throughput"] is not None else "no summary"
            print(f"{b['board']}: {b['state']}, exit {b['exit']}, fleet runs {b['runs']}, {tp}"
                  + (f" ({b['detail']})" if b["state"] != "done" and b["detail"] else ""))
        if skew is not None:
            offsets = ", ".join(f"{b['board']} {1000 * (b.get('clock_offset_s') or 0):+.1f} ms" for b in boards)
            print(f"synchronised start: the boards' runs started within {1000 * skew:.1f} ms of each other "
                  f"(clock offsets to the head: {offsets})")
        if measure_skew is not None:
            print(f"synchronised measured phase: the boards' measured phases began within {1000 * measure_skew:.1f} ms "
                  "of each other on the head's clock")
        print(f"fleet DB: {db}")
    if interrupted:
        print("edgemt: fleet interrupted by Ctrl-C (SIGINT); every board's run was stopped", file=sys.stderr)
        return ExitCode.STOPPED
    if any(b["state"] != "done" or b["exit"] != 0 for b in boards):
        return ExitCode.TENANT_FAILED
    return ExitCode.OK


def status_command(args) -> int:
    """Per board of a fleet DB: its run's status, windows and images so far, and the last
    window slot's rate (the images of the last grid slot every tenant reported in / its
    length: equation (1) over one window). Reads only; no Ray."""
    from runners import config
    from runners.errors import BadInput
    from storage import schema
    from storage.fleet_db import board_totals, last_window_rate
    from tui.session import db_flag, resolve_db

    cfg = config.load()
    db = resolve_db(args.db, cfg)
    flag = db_flag(args.db, cfg)
    if not db.exists():
        raise BadInput(f"{flag} {db} does not exist; give the fleet DB of edgemt fleet run")
    conn = schema.connect(db, readonly=True, flag=flag)
    conn.row_factory = None
    try:
        rows = board_totals(conn)
    finally:
        conn.close()
    for r in rows:
        slot = r.pop("last_slot")
        r["last_window_rate"] = last_window_rate(slot)
    if args.json:
        print(json.dumps({"db": str(db), "boards": rows}))
        return ExitCode.OK
    if not rows:
        print(f"{db} holds no fleet run")
    for r in rows:
        rate = f"{r['last_window_rate']} img/s in the last window" if r["last_window_rate"] is not None else "no window"
        print(f"{r['board']}: run {r['run']} ({r['kind']}) {r['status']}, {r['tenants']} tenants, "
              f"{r['windows']} windows, {r['images']} images, {rate}")
    return ExitCode.OK


def check_commands(plan) -> None:
    """Each board's command line, parsed by the command's own parser (the experiments' and
    capacity's) before anything starts: a bad option is one line naming the board."""
    from tui.arguments import ArgumentError, Parser
    from runners.errors import BadInput

    def common(p, json_flag=True):
        p.add_argument("--db")
        if json_flag:
            p.add_argument("--json", action="store_true")

    parser = Parser(prog="edgemt")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    from tui.capacity_cli import add_parser as add_capacity
    from tui.experiments_cli import add_parsers

    add_parsers(sub, common)
    add_capacity(sub, common)
    for name, b in plan.boards.items():
        if b.command == "run":  # its options are the plan's own keys, checked by runners/fleet/plan.py
            continue
        try:
            parser.parse_args(b.run_args() + ["--db", "board.db", "--json"])
        except ArgumentError as exc:
            raise BadInput(f"plan {plan.path}, board {name!r}: {exc}") from None


def fleet_command(args) -> int:
    from runners.errors import BadInput

    if args.fleet_command == "boards":
        return boards_command(args)
    if args.fleet_command == "run":
        return run_command(args)
    if args.fleet_command == "status":
        return status_command(args)
    raise BadInput("edgemt fleet: say boards, run PLAN or status")
