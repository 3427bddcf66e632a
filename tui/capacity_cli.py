"""``edgemt capacity``: the largest open-loop rate (``--rate-max``) or number of streams
(``--fps``) of a SPEC that meets a latency SLO (runners/experiments/capacity.py).

Runs like the other experiment commands (tui/experiments_cli.py: input checked before
anything starts, a progress bar, every level a ``results`` row, the tables or one JSON
object, exit 0 done / 130 stopped, ``--resume RUN``).
"""
from runners.errors import BadInput

# --rate-max and --step: queries a second, as a SPEC's rate= (runners/spec.py)
FPS_HELP = "each stream's queries a second (one tenant a stream): search the number of streams"


def add_parser(sub, common):
    from runners import limits, spec
    from tui.arguments import real_type, whole_type
    from tui.experiments_cli import add_measuring_options

    rate_type = real_type(*spec.RATE, "queries a second")
    p = sub.add_parser("capacity", help="the largest rate or number of streams that meets a latency SLO")
    p.add_argument("--tenant", metavar="SPEC", help="the group (its rate= and slo= are set by the search)")
    p.add_argument("--slo", metavar="MS", help="latency bound of a query in ms (its p99), or pN:MS, e.g. p90:100")
    p.add_argument("--rate-max", type=rate_type, help="highest rate tried, queries a second: search the rate")
    p.add_argument("--step", type=rate_type, help="rate resolution, queries a second (default --rate-max / 64)")
    p.add_argument("--fps", type=rate_type, help=FPS_HELP)
    p.add_argument("--max", type=whole_type(*limits.LEVEL, what="a number of streams"), default=None,
                   help="most streams tried with --fps, 1 to 4096 (default 64)")
    add_measuring_options(p, common, what="capacity search")


def check(args, spec_text):
    """The search's parameters from the command line: (spec, slo percentile, slo ms, mode)."""
    from runners.spec import parse_slo, parse_spec

    if not spec_text:
        raise BadInput("--tenant SPEC is required, e.g. --tenant mobilenet_v2,framework=tflite")
    spec = parse_spec(spec_text, rate_set_later=True)
    if spec.arrival == "trace" or spec.rate is not None:
        raise BadInput(f"--tenant {spec_text!r}: capacity sets the rate; leave rate= and arrival=trace: out of the "
                       "SPEC (arrival=poisson,seed=N is fine)")
    if spec.slo_ms is not None:
        raise BadInput(f"--tenant {spec_text!r}: give the SLO as --slo, not slo= in the SPEC")
    if not args.slo:
        raise BadInput("--slo MS is required: the latency bound of a query in ms (its p99), or pN:MS, e.g. p90:100")
    pct, ms = parse_slo(args.slo, f"--slo {args.slo!r}", "--slo")
    if (args.fps is None) == (args.rate_max is None):
        raise BadInput("give --rate-max R (the largest rate that meets the SLO) or --fps F (the most streams at F "
                       "queries a second), one of them")
    if args.fps is not None and args.step is not None:
        raise BadInput("--step is the rate resolution of --rate-max; --fps searches whole streams")
    if args.rate_max is not None and args.max is not None:
        raise BadInput("--max is the most streams of --fps; --rate-max searches the rate")
    if args.step is not None and args.step > args.rate_max:
        raise BadInput(f"--step {args.step:g} is above --rate-max {args.rate_max:g}; give a smaller step")
    return spec, pct, ms, "rate" if args.rate_max is not None else "streams"


def capacity_command(args) -> int:
    from runners.experiments import capacity
    from tui.experiments_cli import _checker, _execute, _prepare, _request

    cfg, db, cache = _prepare(args, capacity.EXPERIMENT)
    spec, pct, ms, mode = check(args, args.tenant)
    checker = _checker(cfg, [spec])
    # run_experiment (runners/experiments/request.py), as every experiment command
    request = _request(args, capacity.EXPERIMENT, [spec], cache, slo_ms=ms, slo_pct=pct, rate_max=args.rate_max,
                       step=args.step, fps=args.fps, max_level=args.max)
    return _execute(args, cfg, db, checker, request)
