"""Headless experiment commands: sweep batch, sweep concurrency, dmp, tune, correlate, merge.

Each experiment command checks its input before anything starts (bad input: one line,
exit 2), runs a Session (a run of kind sweep-batch | sweep-concurrency | dmp | tune),
shows a rich progress bar on stderr (none with --json), writes every level to the
``results`` table, prints the run's tables (tui/report.py) or one JSON object, and exits:
0 done (a failing level is an answer), 3 a tenant failed where that is not the answer
(a DMP placement alone or together), 130 stopped by Ctrl-C / SIGTERM (what was measured
is kept; ``--resume RUN`` continues it in a new run, reusing the measured levels).
"""
import asyncio
import json
import sys

from runners.errors import BadInput
from tui.exit_codes import ExitCode

KINDS = {"sweep-batch": "sweep-batch", "sweep-concurrency": "sweep-concurrency", "dmp": "dmp", "tune": "tune"}


# -- argument parsing (added by tui/cli.py) ------------------------------------------------------
def add_measuring_options(p, common, what="sweep"):
    """The options every experiment measures its levels with (the sweeps, dmp, tune and
    capacity share them): duration, steady-state limit, repeats, cooldown, window, images,
    --resume of a run of WHAT, and the common ones."""
    from runners import limits
    from tui.arguments import run_id_type, seconds_type, whole_type

    p.add_argument("--duration", type=seconds_type(limits.DURATION_S),
                   help="seconds measured per level after warm-up, 0.1 to 604800 (default: the steady-state rule)")
    p.add_argument("--max-duration", type=seconds_type(limits.MAX_DURATION_S), default=120.0,
                   help="give up waiting for a steady state of one level after this many seconds, 1 to 604800 "
                        "(default 120)")
    p.add_argument("--repeat", type=whole_type(*limits.REPEAT), default=1,
                   help="trials per level, 1 to 100: mean and std (default 1)")
    p.add_argument("--cooldown", type=seconds_type(limits.COOLDOWN_S), default=0.0,
                   help="seconds idle (paused) between levels, 0 to 3600")
    p.add_argument("--window", type=seconds_type(limits.WINDOW_S),
                   help="window length in seconds, 0.1 to 60 (default from config, 1.0)")
    p.add_argument("--images", help="folder of images (default: built-in set)")
    p.add_argument("--resume", type=run_id_type, metavar="RUN",
                   help=f"continue the {what} of RUN (its parameters; levels already measured are reused)")
    common(p)


def add_parsers(sub, common):
    # every number is parsed and range-checked by runners/limits.py (ranges: docs/cli.md)
    from runners import limits
    from tui.arguments import real_type, run_id_type, whole_type

    level_type = whole_type(*limits.LEVEL, what="a concurrency level")


    sw = sub.add_parser("sweep", help="batch or concurrency sweeps")
    ssub = sw.add_subparsers(dest="sweep_command", parser_class=type(sw))
    sb = ssub.add_parser("batch", help="throughput at each batch size, up to the first that fails")
    sb.add_argument("--tenant", metavar="SPEC", help="the group to sweep (its batch is overridden)")
    sb.add_argument("--batches", help="comma list (default 1,2,4,...,256)")
    add_measuring_options(sb, common)
    sc = ssub.add_parser("concurrency", help="throughput at each concurrency level, up to the first that fails")
    sc.add_argument("--tenant", metavar="SPEC", help="the group to sweep (its count is overridden)")
    sc.add_argument("--max", type=level_type, default=None, help="highest level, 1 to 4096 (default 64)")
    sc.add_argument("--strategy", default=None, help="linear (default) | doubling | search")
    sc.add_argument("--warm-start", action="store_true", help="keep warm tenants between levels (default: fresh)")
    add_measuring_options(sc, common)

    d = sub.add_parser("dmp", help="placements alone at their best level, then together: ideal vs achieved")
    d.add_argument("--tenant", action="append", metavar="SPEC", help="one group per placement; repeat")
    d.add_argument("--as-given", action="store_true", help="alone and together at the SPECs' counts")
    d.add_argument("--max", type=level_type, default=None,
                   help="highest level tried alone, 1 to 4096 (default: each SPEC's count)")
    d.add_argument("--objective", default=None,
                   help="throughput (default) | slo: most streams within the SPECs' slo= (each tenant a stream at "
                        "its rate=)")
    add_measuring_options(d, common)

    t = sub.add_parser("tune", help="guided search of concurrency x batch x isolation")
    t.add_argument("--tenant", metavar="SPEC", help="the model and placement to tune")
    t.add_argument("--objective", default=None,
                   help="throughput (default) | throughput-per-watt | slo: most streams within the SPEC's slo= "
                        "(each tenant a stream at its rate=)")
    t.add_argument("--p99-ms", type=real_type(*limits.P99_MS), default=None,
                   help="p99 latency limit in ms, 0.001 to 1000000")
    t.add_argument("--max", type=level_type, default=None, help="highest concurrency level, 1 to 4096 (default 4)")
    t.add_argument("--batches", help="comma list (default 1,2,4,8)")
    t.add_argument("--isolations", help="comma list of process, thread (default both)")
    t.add_argument("--budget", type=whole_type(*limits.BUDGET), default=None,
                   help="configurations to measure, 1 to 10000 (default 25%% of the grid)")
    t.add_argument("--full-grid", action="store_true", help="measure every configuration (records a grid)")
    add_measuring_options(t, common)

    c = sub.add_parser("correlate", help="Pearson r of throughput with every resource, batch and concurrency")
    c.add_argument("runs", nargs="*", type=run_id_type, metavar="RUN",
                   help="run ids (default: the latest; on a fleet DB, every board's run of the latest fleet)")
    c.add_argument("--fleet", metavar="ID", help="a fleet DB's fleet (params.fleet.id): each board, and all together")
    common(c)

    r = sub.add_parser("report", help="a run's results as tables, and plots with --plot")
    r.add_argument("run", nargs="?", type=run_id_type, metavar="RUN",
                   help="run id (default: the latest; on a fleet DB, one row per board of the latest fleet)")
    r.add_argument("--fleet", metavar="ID", help="a fleet DB's fleet (params.fleet.id): one row per board")
    r.add_argument("--plot", metavar="FILE", help="write the plots to FILE.png or FILE.svg")
    r.add_argument("--csv", metavar="FILE", help="write the run's results table as CSV")
    common(r)

    m = sub.add_parser("merge", help="merge DBs of several boards into one")
    m.add_argument("sources", nargs="+", metavar="DB")
    m.add_argument("--out", required=True, help="the merged DB (created or appended to)")
    m.add_argument("--json", action="store_true")


def dispatch(cmd: str, args):
    from tui.arguments import ArgumentError

    if cmd == "sweep":
        if args.sweep_command == "batch":
            return sweep_batch_command
        if args.sweep_command == "concurrency":
            return sweep_concurrency_command
        raise ArgumentError("edgemt sweep: say batch or concurrency")
    return {"dmp": dmp_command, "tune": tune_command, "correlate": correlate_command,
            "report": report_command, "merge": merge_command}.get(cmd)


# -- input checks -------------------------------------------------------------------------------
def int_list(text: str, what: str, check=None) -> list:
    items = [x.strip() for x in str(text).split(",")]
    if not items or any(not x for x in items):
        raise BadInput(f"{what} {text!r} is not a comma list; give e.g. 1,2,4")
    out = []
    for x in items:
        out.append(check(x, what) if check else x)
    if len(set(out)) != len(out):
        raise BadInput(f"{what} {text!r} repeats a value")
    return out


def _level(value, what, default):
    if value is None:
        return default
    if value < 1:
        raise BadInput(f"{what} {value} is not allowed; give a whole number >= 1")
    return value


def _check_measuring(args):
    if args.repeat < 1:
        raise BadInput(f"--repeat {args.repeat} is not allowed; give a whole number >= 1")
    if args.cooldown < 0:
        raise BadInput(f"--cooldown {args.cooldown} is negative; give seconds >= 0")


def _resume_params(args, db, kind: str):
    """The parameters of the run being resumed (they win over the command line's)."""
    from storage import reads, schema

    if not db.exists():
        raise BadInput(f"--resume {args.resume}: --db {db} does not exist")
    conn = schema.connect(db, readonly=True)
    try:
        row = reads.run(conn, args.resume)
        if row is None:
            raise BadInput(f"--resume {args.resume}: no such run in {db}")
        if row["kind"] != kind:
            raise BadInput(f"--resume {args.resume}: run {args.resume} is a {row['kind']}, not a {kind}")
        from runners.experiments.common import load_cache

        return json.loads(row["params"] or "{}"), load_cache(conn, args.resume, kind)
    finally:
        conn.close()


def _prepare(args, kind: str):
    from runners import config
    from storage import schema
    from tui.session import db_flag, resolve_db

    cfg = config.load()
    db = resolve_db(args.db, cfg)
    schema.check_path(db, db_flag(args.db, cfg))
    schema.identify(db, db_flag(args.db, cfg))  # refuses another program's DB or a newer schema before anything starts
    _check_measuring(args)
    cache, old = {}, None
    if args.resume is not None:
        old, cache = _resume_params(args, db, kind)
        for k, v in old.get("args", {}).items():
            setattr(args, k, v)
    from tui.headless import check_window

    check_window(args.window or cfg["window_s"], args.duration, args.max_duration,
                 "--window" if args.window else "window_s in config.toml")
    return cfg, db, cache


def _specs(texts, what="--tenant"):
    from runners.spec import parse_spec

    if not texts:
        raise BadInput(f"{what} SPEC is required, e.g. --tenant mobilenet_v2,framework=torch,resource=cpu")
    return [parse_spec(s) for s in texts]


def _checker(cfg, specs):
    from runners.placement import PlacementChecker
    from tui.session import edgetpu_lister

    from tui.waiting import TtyProgress

    progress = TtyProgress()
    checker = PlacementChecker(cfg, edgetpu_lister(), progress=progress)
    try:
        checker.check_all(specs)
    finally:
        progress.done()
    return checker


# -- the commands ---------------------------------------------------------------------------------
ARG_KEYS = ("tenant", "batches", "max", "strategy", "warm_start", "as_given", "objective", "p99_ms",
            "isolations", "budget", "full_grid", "duration", "max_duration", "repeat", "cooldown", "window",
            "slo", "rate_max", "step", "fps",  # edgemt capacity (tui/capacity_cli.py)
            "scenario", "quick", "latency_bound", "target_qps", "expected_qps", "seed")  # edgemt mlperf


def _saved_args(args) -> dict:
    return {k: getattr(args, k) for k in ARG_KEYS if hasattr(args, k)}


def _request(args, kind: str, specs: list, cache: dict, **params):
    """The ExperimentRequest of the command line (runners/experiments/request.py): the UI's
    s key builds one too, and both run through ``run_experiment``."""
    from runners.experiments.request import ExperimentRequest

    return ExperimentRequest(kind, specs, duration=args.duration, max_s=args.max_duration, repeat=args.repeat,
                             cooldown=args.cooldown, cache=cache, resumed_from=args.resume, **params)


def sweep_batch_command(args) -> int:
    from runners.experiments import batch_sweep
    from runners.spec import check_batch

    cfg, db, cache = _prepare(args, batch_sweep.EXPERIMENT)
    (spec,) = _specs([args.tenant] if args.tenant else None)
    batches = (int_list(args.batches, "--batches", check_batch) if args.batches
               else list(batch_sweep.DEFAULT_BATCHES))
    checker = _checker(cfg, [spec])
    request = _request(args, batch_sweep.EXPERIMENT, [spec], cache, batches=batches)
    return _execute(args, cfg, db, checker, request)


def sweep_concurrency_command(args) -> int:
    from runners.experiments import concurrency_sweep, search

    cfg, db, cache = _prepare(args, concurrency_sweep.EXPERIMENT)
    (spec,) = _specs([args.tenant] if args.tenant else None)
    args.max = _level(args.max, "--max", 64)
    args.strategy = args.strategy or "linear"
    if args.strategy not in search.STRATEGIES:
        raise BadInput(f"--strategy {args.strategy!r}; accepted: {', '.join(search.STRATEGIES)}")
    checker = _checker(cfg, [spec])
    request = _request(args, concurrency_sweep.EXPERIMENT, [spec], cache, max_level=args.max,
                       strategy=args.strategy, warm=args.warm_start)
    return _execute(args, cfg, db, checker, request)


def dmp_command(args) -> int:
    from runners.experiments import dmp

    cfg, db, cache = _prepare(args, dmp.EXPERIMENT)
    specs = _specs(args.tenant)
    if len(specs) < 2:
        raise BadInput("dmp needs two or more --tenant SPECs (one group per placement)")
    if args.max is not None:
        _level(args.max, "--max", 1)
    args.objective = args.objective or "throughput"
    dmp.check_objective(args.objective, specs)
    checker = _checker(cfg, specs)
    request = _request(args, dmp.EXPERIMENT, specs, cache, as_given=args.as_given, max_level=args.max,
                       objective=args.objective)
    return _execute(args, cfg, db, checker, request,
                    failed=lambda s: s.get("streams_achieved" if args.objective == "slo" else "achieved") is None
                    and s.get("ended_by") != "stopped")


def tune_command(args) -> int:
    from runners.experiments import tuner
    from runners.spec import ISOLATIONS, check_batch

    cfg, db, cache = _prepare(args, tuner.EXPERIMENT)
    (spec,) = _specs([args.tenant] if args.tenant else None)
    args.objective = args.objective or "throughput"
    if args.objective not in ("throughput", "throughput-per-watt", "slo"):
        raise BadInput(f"--objective {args.objective!r}; accepted: throughput, throughput-per-watt, slo")
    if args.objective == "slo" and (spec.rate is None or spec.slo_ms is None):
        raise BadInput(f"--objective slo: SPEC {args.tenant!r} needs rate= (each stream's queries a second) and slo= "
                       "(its latency bound), e.g. rate=15,slo=100")
    if args.p99_ms is not None and not args.p99_ms > 0:
        raise BadInput(f"--p99-ms {args.p99_ms} is not positive; give milliseconds > 0")
    max_level = _level(args.max, "--max", 4)
    batches = int_list(args.batches, "--batches", check_batch) if args.batches else [1, 2, 4, 8]
    isolations = int_list(args.isolations, "--isolations") if args.isolations else list(ISOLATIONS)
    for iso in isolations:
        if iso not in ISOLATIONS:
            raise BadInput(f"--isolations: {iso!r} is not an isolation; accepted: {', '.join(ISOLATIONS)}")
    if args.budget is not None and args.budget < 1:
        raise BadInput(f"--budget {args.budget} is not allowed; give a whole number >= 1")
    checker = _checker(cfg, [spec.with_changes(isolation=i) for i in isolations])
    request = _request(args, tuner.EXPERIMENT, [spec], cache, max_level=max_level, batches=sorted(batches),
                       isolations=isolations, objective=args.objective, p99_ms=args.p99_ms, budget=args.budget,
                       full_grid=args.full_grid)
    return _execute(args, cfg, db, checker, request)


def _execute(args, cfg, db, checker, request, failed=None) -> int:
    params = {"args": _saved_args(args), "resumed_from": args.resume}
    return asyncio.run(_run(args, cfg, db, checker, request, params, failed))


async def _run(args, cfg, db, checker, request, params, failed) -> int:
    from runners.experiments.request import run_experiment
    from tui.headless import check_images
    from tui.session import Session

    kind = request.kind
    images = check_images(args.images) if args.images is not None else None
    # the session owns signals, status and close (tui/session.py); as before, a DB write
    # error does not stop an experiment
    session = Session(db, kind, params, cfg, images=images, window_s=args.window, checker=checker)
    async with session.handling(db_error_stops=False):
        progress, task = None, None
        if not args.json:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(TextColumn(f"[bold]{kind}[/] run {session.run_id}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                                console=Console(stderr=True), transient=True)
            progress.start()
            task = progress.add_task("starting", total=request.steps)

        def say(text, advance):
            if progress is not None:
                progress.update(task, description=text, advance=advance)

        summary = None
        try:
            summary = await run_experiment(session, request, progress=say)
            if summary.get("ended_by") == "stopped":
                session.outcome = "interrupted"
        finally:
            if progress is not None:
                progress.stop()
    status = session.status
    code = ExitCode.OK
    if status == "interrupted":
        code = ExitCode.STOPPED
    elif failed is not None and failed(summary):
        code = ExitCode.TENANT_FAILED
    out = {"run_id": session.run_id, "db": str(db), "experiment": kind, "status": status, "summary": summary}
    if args.json:
        print(json.dumps(out))
    else:
        from tui import report

        report.print_run(db, session.run_id)
        if status == "interrupted":
            print(f"stopped: what was measured is in run {session.run_id}; continue with --resume {session.run_id}")
    if status == "interrupted":
        print(f"edgemt: stopped by {session.stop_signal_name()}; what was measured "
              f"is in run {session.run_id} (continue with --resume {session.run_id})", file=sys.stderr)
    return code


def _fleet_asked(conn, args, given) -> bool:
    """Whether the command compares a fleet's boards: ``--fleet``, or no RUN on a DB whose
    latest run is a board's run of ``edgemt fleet run`` (its params have ``fleet``)."""
    if args.fleet is not None:
        if given:
            raise BadInput(f"--fleet {args.fleet!r} compares a fleet's boards: give it or RUN, not both")
        return True
    if given:
        return False
    from storage import reads

    latest = reads.latest_run(conn)
    try:
        params = json.loads((latest or {}).get("params") or "{}") or {}
    except ValueError:
        return False
    return isinstance(params, dict) and isinstance(params.get("fleet"), dict)


def _answer(args, data: dict, show) -> int:
    """``data`` as JSON with --json, else drawn by ``show(data)``."""
    if args.json:
        print(json.dumps(data))
    else:
        show(data)
    return ExitCode.OK


def correlate_command(args) -> int:
    from storage.analysis import correlate, run_ids
    from tui import report

    conn = _open_ro(args)
    if _fleet_asked(conn, args, args.runs):  # one r per board and over all boards
        from runners.fleet.compare import correlations

        return _answer(args, correlations(conn, args.fleet), report.print_board_correlations)
    runs = run_ids(conn, args.runs)
    return _answer(args, {"runs": runs, "rows": correlate(conn, runs)},
                   lambda data: report.print_correlations(data["rows"], data["runs"]))


def report_command(args) -> int:
    from storage.analysis import run_ids
    from tui import report

    conn = _open_ro(args)
    if _fleet_asked(conn, args, args.run is not None):
        if args.plot or args.csv:
            raise BadInput(f"{'--plot' if args.plot else '--csv'} is one run's: give RUN (a board's run id: "
                           "edgemt report RUN); the boards' table has --json")
        from runners.fleet.compare import boards

        return _answer(args, boards(conn, args.fleet), report.print_boards)  # one row per board
    (run,) = run_ids(conn, [args.run] if args.run is not None else None)
    if args.plot:
        report.check_plot_path(args.plot)
    if args.csv:
        from storage.export import check_out

        check_out(args.csv, "--csv")
    data = report.load(conn, run)
    if args.csv:
        from storage.export import export_csv

        export_csv(conn, args.csv, run, "results", flag="--csv")
    if args.plot:
        report.plot(data, args.plot)
    if args.json:
        print(json.dumps(dict({k: v for k, v in data.items() if k != "timeline"}, plot=args.plot), default=str))
    else:
        report.print_data(data)
        if args.plot:
            print(f"plots: {args.plot}")
    return ExitCode.OK


def merge_command(args) -> int:
    from storage import schema
    from storage.merge import merge

    schema.check_path(__import__("pathlib").Path(args.out), "--out")
    counts = merge(args.sources, args.out)
    if args.json:
        print(json.dumps({"out": args.out, **counts}))
    else:
        print(f"merged {counts['runs']} runs ({counts['skipped']} already there), {counts['tenants']} tenants, "
              f"{counts['windows']} windows, {counts['samples']} samples, {counts['results']} results into {args.out}")
    return ExitCode.OK


def _open_ro(args):
    from runners import config
    from storage import schema
    from tui.session import db_flag, resolve_db

    cfg = config.load()
    db = resolve_db(args.db, cfg)
    flag = db_flag(args.db, cfg)
    if not db.exists():
        raise BadInput(f"{flag} {db} does not exist; run something first or give another --db")
    return schema.connect(db, readonly=True, flag=flag)
