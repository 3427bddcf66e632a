"""The ``edgemt`` command: argument parsing, dispatch and exit statuses.

Exit status (docs/cli.md): 0 success, 1 internal error or standard output not writable,
2 bad input (nothing started), 3 completed but at least one tenant failed, 4 the DB could
not be written, 130 stopped by the user (Ctrl-C, SIGTERM, a lost terminal; what was
measured is kept), 141 standard output closed by its reader (``| head``: quiet, as a
command killed by SIGPIPE; what was stored is unchanged). Bad input is one line on stderr
naming the bad value and what is accepted, never a traceback. Imports stay lazy so
headless commands start fast on a small board; textual is imported only when the UI starts.
"""
import argparse
import errno
import json
import os
import sys

from runners import limits
from tui.arguments import ArgumentError, Parser, follow_type, real_type, run_id_type, seconds_type

from tui.exit_codes import ExitCode, OutputClosed, exit_code_for
from tui.stdout import GuardedStdout


def _common(p, json_flag=True):
    p.add_argument("--db", help="SQLite file (default: $EDGEMT_DB or $XDG_DATA_HOME/edgemt/edgemt.db)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# the UI's own options: ``edgemt`` with only these starts the UI
UI_FLAGS = ("--keep-running", "--new")
UI_VALUED = ("--db", "--follow")


def build_ui_parser() -> Parser:
    """The top-level options alone: what ``edgemt`` needs to start the UI."""
    p = Parser(prog="edgemt", description="Run several DL models at once on an edge board, measure and steer it.")
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--keep-running", action="store_true",
                   help="UI: if the terminal is lost (SIGHUP), the run goes on headless until SIGTERM")
    p.add_argument("--follow", type=follow_type, metavar="RUN|FLEET.db",
                   help="UI: follow a run in progress, read-only from the DB; given a fleet DB (edgemt fleet run), "
                        "every board's run, with a board column and each board's total")
    p.add_argument("--new", action="store_true", help="UI: start a new run even if others are in progress")
    p.set_defaults(command=None)
    return p


def only_ui_options(argv) -> bool:
    """True when ``argv`` holds nothing but the UI's own options (each valued one with its value).

    Then the subcommands' parsers (about twenty, a tenth of the UI's time to first frame
    on a 2-core VM) need not be built: parsing with ``build_ui_parser`` gives what the
    full parser would. Anything else (a subcommand, -h, a typo) goes to the full parser.
    """
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in UI_FLAGS or any(token.startswith(f"{o}=") for o in UI_VALUED):
            i += 1
        elif token in UI_VALUED and i + 1 < len(argv):
            i += 2
        else:
            return False
    return True


def build_parser() -> Parser:
    p = build_ui_parser()
    sub = p.add_subparsers(dest="command", parser_class=Parser)

    r = sub.add_parser("run", help="run tenants headless and print their throughput")
    r.add_argument("--tenant", action="append", required=True, metavar="SPEC",
                   help="model[,framework=F][,resource=R][,batch=N][,count=N][,isolation=process|thread][,threads=N]"
                        "[,file=PATH]; repeat for several groups")
    r.add_argument("--duration", type=seconds_type(limits.DURATION_S),
                   help="seconds to measure after warm-up, 0.1 to 604800 (default: until the steady-state rule holds)")
    r.add_argument("--max-duration", type=seconds_type(limits.MAX_DURATION_S), default=300.0,
                   help="give up waiting for a steady state after this many seconds, 1 to 604800 (default 300)")
    r.add_argument("--images", help="folder of images (flat, or one folder per class); default: built-in set")
    r.add_argument("--include-transfer", action="store_true", help="time the host-to-device copy too")
    r.add_argument("--window", type=seconds_type(limits.WINDOW_S),
                   help="window length in seconds, 0.1 to 60 (default from config, 1.0)")
    r.add_argument("--measure-at", type=real_type(*limits.MEASURE_AT), metavar="EPOCH",
                   help="start the measured phase at this instant (seconds since 1970 on this machine's clock, "
                        "within a day; warm-up before it): the fleet's synchronised measured phase")
    _common(r)

    sub.add_parser("devices", help="resources and sensors found here").add_argument("--json", action="store_true")

    e = sub.add_parser("export", help="write one table of a run as CSV")
    e.add_argument("--out", required=True, help="CSV file to write (- for standard output)")
    e.add_argument("--run", type=run_id_type, help="run id (default: the latest)")
    e.add_argument("--table", default="timeline",
                   help="timeline (default: windows joined with tenants), runs, tenants, windows, samples, events, results")
    _common(e)

    m = sub.add_parser("models", help="the model catalog (Table I), and preparing TFLite and ONNX models")
    m.add_argument("--json", action="store_true")
    msub = m.add_subparsers(dest="models_command", parser_class=Parser)
    mp = msub.add_parser("prepare", help="make full-int8 TFLite models from Keras (in the tensorflow environment), "
                                         "or ONNX models exported from torch (fp32) and quantised by ONNX Runtime (int8)")
    mp.add_argument("framework", choices=["tflite", "onnx"])
    mp.add_argument("models", nargs="*", help="default: inception_v3 mobilenet_v1 mobilenet_v2 (tflite), all nine (onnx)")
    mp.add_argument("--precision", choices=["fp32", "int8", "both"], default="both",
                    help="onnx: which files to make (default both; int8 needs the fp32 file, made first)")
    mp.add_argument("--images", help="representative images for quantisation (default: built-in set)")
    mp.add_argument("--edgetpu", action="store_true", help="also compile for the EdgeTPU with edgetpu_compiler")
    mp.add_argument("--co-compile", action="store_true", help="compile the models together (shared 8 MB cache)")
    mp.add_argument("--out", help="models folder (default: $XDG_DATA_HOME/edgemt/models/tflite or .../onnx)")
    mp.add_argument("--json", action="store_true")

    env = sub.add_parser("env", help="framework environments")
    esub = env.add_subparsers(dest="env_command", parser_class=Parser)
    el = esub.add_parser("list", help="each framework's interpreter and whether it imports")
    el.add_argument("--json", action="store_true")
    ec = esub.add_parser("create", help="make the pinned managed environment of a framework")
    ec.add_argument("framework")
    eu = esub.add_parser("use", help="run a framework with an interpreter you have (e.g. JetPack's python3)")
    eu.add_argument("framework")
    eu.add_argument("python")

    rp = sub.add_parser("replay", help="play a recorded run in the UI")
    rp.add_argument("run", type=run_id_type, nargs="?", help="run id (default: the latest)")
    rp.add_argument("--speed", type=real_type(*limits.SPEED),
                    help="playback speed factor, 0 to 1000 (default 1; 0 jumps to the end)")
    rp.add_argument("--db", help="SQLite file (default: $EDGEMT_DB or $XDG_DATA_HOME/edgemt/edgemt.db)")

    from tui.experiments_cli import add_parsers  # sweep, dmp, tune, correlate, report, merge

    add_parsers(sub, _common)

    from tui.diff_cli import add_parser as add_diff_parser  # diff RUN RUN

    add_diff_parser(sub, _common)

    from tui.fleet_cli import add_parser as add_fleet_parser  # fleet boards, fleet run PLAN (Ray)

    add_fleet_parser(sub, _common)

    from tui.capacity_cli import add_parser as add_capacity_parser  # capacity --tenant SPEC --slo MS

    add_capacity_parser(sub, _common)

    from tui.mlperf_cli import add_parser as add_mlperf_parser  # mlperf --scenario S --tenant SPEC

    add_mlperf_parser(sub, _common)
    return p


def walk_parsers(parser, path):
    """(command words, parser) for ``parser`` and every subcommand below it, depth first
    (docs/make_cli_md.py writes docs/cli.md from it; a test checks the doc against it)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk_parsers(sub, path + [name])


def _say(line: str) -> None:
    """One line on stderr; a closed stderr has nobody to tell. A line made long by what the
    user typed (a 5000-character SPEC) keeps its head and its tail, which says what is accepted."""
    if len(line) > 500:
        line = line[:280] + " ... " + line[-200:]
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """Points fd 1 at /dev/null so the interpreter's flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    sys.stdout = open(os.devnull, "w")


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:60] + "..." + text[-40:]


def _flag_of(filename, args) -> str:
    """The option whose value holds ``filename`` ("--db "), or "" when none does."""
    name = str(filename)
    for key, value in sorted(vars(args).items()) if args is not None else ():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and v and (name in v or v in name) for v in values):
            return ("--" + key.replace("_", "-") + " ") if key not in ("sources", "runs", "run", "models") else ""
    return ""


def _parse(parser, argv):
    """parse_args, except that the model names of ``models prepare`` may follow its options
    (``models prepare tflite --edgetpu mobilenet_v2``): argparse takes positionals of one
    group only, and refused these as unrecognized."""
    args, extras = parser.parse_known_args(argv)
    if extras and getattr(args, "models_command", None) == "prepare" and not any(x.startswith("-") for x in extras):
        args.models = list(args.models or []) + extras
        extras = []
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv=None) -> int:
    from runners.errors import BadInput, Interrupted

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_ui_parser() if only_ui_options(argv) else build_parser()
    real_stdout = sys.stdout
    sys.stdout = GuardedStdout(real_stdout)
    try:
        args = _parse(parser, argv)
        handler = _dispatch(args, parser)
        code = handler(args)
        sys.stdout.flush()  # a full or closed stdout is seen here, not at the interpreter's exit
    except ArgumentError as exc:  # already prefixed with the (sub)command's name
        _say(str(exc))
        code = exit_code_for(exc)
    except BadInput as exc:
        _say(f"edgemt: {exc}")
        code = exit_code_for(exc)
    except OutputClosed as exc:
        # What was stored is stored: only printing stopped. A closed pipe ends quietly with
        # the status of a command killed by SIGPIPE; any other refused write is said once.
        if exc.errno != errno.EPIPE:
            _say(f"edgemt: cannot write standard output: {exc}")
        _quiet_stdout()
        code = exit_code_for(exc)
    except BrokenPipeError as exc:  # a pipe other than stdout (--out /dev/stdout) closed by its reader
        _quiet_stdout()
        code = exit_code_for(exc)
    except Interrupted as exc:
        _say(f"edgemt: {exc}")
        code = exit_code_for(exc)
    except OSError as exc:
        # A path the user gave that the system refuses to even look at (too long, a loop of
        # links, a folder we may not enter): bad input, named by the option it came from.
        code = exit_code_for(exc)
        if code is None:
            raise
        _say(f"edgemt: {_flag_of(exc.filename, locals().get('args'))}{_short(str(exc.filename))}: {exc.strerror}; "
             "give another path")
    except KeyboardInterrupt as exc:
        _say("edgemt: interrupted by Ctrl-C (SIGINT) before the run started; nothing was measured")
        code = exit_code_for(exc)
    finally:
        if isinstance(sys.stdout, GuardedStdout):
            sys.stdout = real_stdout
    sys.exit(code)


def _dispatch(args, parser):
    cmd = args.command
    if cmd == "run":
        from tui.headless import run_command

        return run_command
    if cmd == "devices":
        from tui.info import devices_command

        return devices_command
    if cmd == "export":
        return export_command
    if cmd == "models":
        from tui.info import models_command

        return models_command
    if cmd == "env":
        from tui.info import env_command

        if not args.env_command:
            raise ArgumentError("edgemt env: say list, create FRAMEWORK or use FRAMEWORK PYTHON")
        return env_command
    if cmd == "replay":
        from tui.app_main import replay_command

        return replay_command
    if cmd == "diff":
        from tui.diff_cli import diff_command

        return diff_command
    if cmd == "fleet":
        from tui.fleet_cli import fleet_command

        return fleet_command
    if cmd == "capacity":
        from tui.capacity_cli import capacity_command

        return capacity_command
    if cmd == "mlperf":
        from tui.mlperf_cli import mlperf_command

        return mlperf_command
    if cmd in ("sweep", "dmp", "tune", "correlate", "report", "merge"):
        from tui.experiments_cli import dispatch

        return dispatch(cmd, args)
    if cmd is None:
        try:
            from tui.app_main import ui_command
        except ImportError:  # no textual: the headless commands are what there is
            build_parser().print_help()
            return lambda a: ExitCode.OK
        return ui_command
    raise ArgumentError(f"unknown command {cmd!r}")


def export_command(args) -> int:
    from runners import config
    from storage import schema
    from storage.export import check_export, export_csv
    from tui.session import db_flag, resolve_db

    cfg = config.load()
    db = resolve_db(args.db, cfg)
    flag = db_flag(args.db, cfg)
    if not db.exists():
        from runners.errors import BadInput

        raise BadInput(f"{flag} {db} does not exist; run something first or give another --db")
    conn = schema.connect(db, readonly=True, flag=flag)
    try:
        run_id = check_export(conn, args.out, args.run, args.table)  # every input, before any write
    finally:
        conn.close()
    _mark_interrupted(db)
    conn = schema.connect(db, readonly=True)
    try:
        n = export_csv(conn, args.out, run_id, args.table)
    finally:
        conn.close()
    if args.out == "-":
        pass  # the CSV is the output
    elif args.json:
        print(json.dumps({"out": str(args.out), "rows": n, "table": args.table}))
    else:
        print(f"wrote {n} rows of {args.table} to {args.out}")
    return ExitCode.OK


def _mark_interrupted(db) -> None:
    """Any start of edgemt marks runs of dead controllers as interrupted (and writes to the
    DB only when there is such a run)."""
    if os.access(db, os.W_OK):
        from storage.store import mark_interrupted_runs

        mark_interrupted_runs(db)


if __name__ == "__main__":
    main()
