"""The ``edgemt`` command: argument parsing, dispatch and exit statuses.

Exit status: 0 success, 2 bad input (nothing started), 3 completed but at least one
tenant failed, 1 internal error. Bad input is one line on stderr naming the bad value
and what is accepted, never a traceback. Imports stay lazy so headless commands start
fast on a small board; textual is imported only when the UI starts.
"""
import argparse
import json
import sys

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_TENANT_FAILED = 0, 1, 2, 3


class ArgumentError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one line and exit status 2 (via ArgumentError)."""

    def error(self, message):
        raise ArgumentError(f"{self.prog}: {message}")


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give seconds > 0") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not positive; give seconds > 0")
    return value


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
    p.add_argument("--follow", type=int, metavar="RUN", help="UI: follow a run in progress, read-only from the DB")
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
    r.add_argument("--duration", type=_positive_float, help="seconds to measure after warm-up "
                                                           "(default: until the steady-state rule holds)")
    r.add_argument("--max-duration", type=_positive_float, default=300.0,
                   help="give up waiting for a steady state after this many seconds (default 300)")
    r.add_argument("--images", help="folder of images (flat, or one folder per class); default: built-in set")
    r.add_argument("--include-transfer", action="store_true", help="time the host-to-device copy too")
    r.add_argument("--window", type=_positive_float, help="window length in seconds (default from config, 1.0)")
    _common(r)

    sub.add_parser("devices", help="resources and sensors found here").add_argument("--json", action="store_true")

    e = sub.add_parser("export", help="write one table of a run as CSV")
    e.add_argument("--out", required=True, help="CSV file to write")
    e.add_argument("--run", type=int, help="run id (default: the latest)")
    e.add_argument("--table", default="timeline",
                   help="timeline (default: windows joined with tenants), runs, tenants, windows, samples, events, results")
    _common(e)

    m = sub.add_parser("models", help="the model catalog (Table I), and preparing TFLite models")
    m.add_argument("--json", action="store_true")
    msub = m.add_subparsers(dest="models_command", parser_class=Parser)
    mp = msub.add_parser("prepare", help="make full-int8 TFLite models from Keras (in the tensorflow environment)")
    mp.add_argument("framework", choices=["tflite"])
    mp.add_argument("models", nargs="*", help="default: inception_v3 mobilenet_v1 mobilenet_v2")
    mp.add_argument("--images", help="representative images for quantisation (default: built-in set)")
    mp.add_argument("--edgetpu", action="store_true", help="also compile for the EdgeTPU with edgetpu_compiler")
    mp.add_argument("--co-compile", action="store_true", help="compile the models together (shared 8 MB cache)")
    mp.add_argument("--out", help="models folder (default: $XDG_DATA_HOME/edgemt/models/tflite)")
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
    rp.add_argument("run", type=int, nargs="?", help="run id (default: the latest)")
    rp.add_argument("--speed", type=float, help="playback speed factor (default 1; 0 jumps to the end)")
    rp.add_argument("--db", help="SQLite file (default: $EDGEMT_DB or $XDG_DATA_HOME/edgemt/edgemt.db)")

    from tui.experiments_cli import add_parsers  # sweep, dmp, tune, correlate, report, merge

    add_parsers(sub, _common, _positive_float)

    from tui.diff_cli import add_parser as add_diff_parser  # diff RUN RUN

    add_diff_parser(sub, _common)
    return p


def walk_parsers(parser, path):
    """(command words, parser) for ``parser`` and every subcommand below it, depth first
    (docs/make_cli_md.py writes docs/cli.md from it; a test checks the doc against it)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk_parsers(sub, path + [name])


def main(argv=None) -> int:
    from runners.errors import BadInput

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_ui_parser() if only_ui_options(argv) else build_parser()
    try:
        args = parser.parse_args(argv)
        handler = _dispatch(args, parser)
        code = handler(args)
    except ArgumentError as exc:  # already prefixed with the (sub)command's name
        print(str(exc), file=sys.stderr)
        code = EXIT_BAD_INPUT
    except BadInput as exc:
        print(f"edgemt: {exc}", file=sys.stderr)
        code = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("edgemt: interrupted", file=sys.stderr)
        code = 130
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
    if cmd in ("sweep", "dmp", "tune", "correlate", "report", "merge"):
        from tui.experiments_cli import dispatch

        return dispatch(cmd, args)
    if cmd is None:
        try:
            from tui.app_main import ui_command
        except ImportError:  # no textual: the headless commands are what there is
            build_parser().print_help()
            return lambda a: EXIT_OK
        return ui_command
    raise ArgumentError(f"unknown command {cmd!r}")


def export_command(args) -> int:
    from runners import config
    from storage import schema
    from storage.export import export_csv
    from tui.session import resolve_db

    db = resolve_db(args.db, config.load())
    if not db.exists():
        from runners.errors import BadInput

        raise BadInput(f"--db {db} does not exist; run something first or give another --db")
    _mark_interrupted(db)
    conn = schema.connect(db, readonly=True)
    n = export_csv(conn, args.out, args.run, args.table)
    if args.json:
        print(json.dumps({"out": str(args.out), "rows": n, "table": args.table}))
    else:
        print(f"wrote {n} rows of {args.table} to {args.out}")
    return EXIT_OK


def _mark_interrupted(db) -> None:
    """Any start of edgemt marks runs of dead controllers as interrupted."""
    import os

    if os.access(db, os.W_OK):
        from storage.store import mark_interrupted_runs

        mark_interrupted_runs(db)


if __name__ == "__main__":
    main()
