"""``edgemt mlperf``: an MLPerf Inference scenario on one tenant, with MLPerf's rules and
verdict (runners/experiments/mlperf_scenario.py, runners/mlperf.py).

Runs like the other experiment commands (tui/experiments_cli.py: input checked before
anything starts, a progress bar, the result a ``results`` row, printed or one JSON
object, exit 0 done / 3 the tenant failed / 130 stopped).
"""
from runners.errors import BadInput


def add_parser(sub, common):
    from runners import limits, mlperf, spec
    from tui.arguments import real_type, seconds_type

    rate_type = real_type(*spec.RATE, "queries a second")
    p = sub.add_parser("mlperf", help="an MLPerf Inference scenario on one tenant: its rules, early stopping, verdict")
    p.add_argument("--scenario", help=f"one of {', '.join(mlperf.SCENARIOS)}")
    p.add_argument("--tenant", metavar="SPEC", help="the model and placement (the scenario sets batch, count, rate)")
    p.add_argument("--quick", action="store_true",
                   help=f"minimums scaled down to {mlperf.QUICK_MIN_DURATION_S:g} s: the result is not comparable")
    p.add_argument("--latency-bound", type=real_type(0.001, 3600000.0, "milliseconds"), metavar="MS",
                   help="server: the bound on the 99th percentile latency, ms")
    p.add_argument("--target-qps", type=rate_type, help="server: the Poisson arrival rate, queries a second")
    p.add_argument("--expected-qps", type=rate_type,
                   help="offline: the expected rate, which sizes its one query (default 1: the minimum samples)")
    p.add_argument("--seed", type=int, help="server: the schedule's seed (default: mlperf.conf's, as LoadGen)")
    p.add_argument("--window", type=seconds_type(limits.WINDOW_S),
                   help="window length in seconds, 0.1 to 60 (default from config, 1.0)")
    p.add_argument("--images", help="folder of images (default: built-in set)")
    # the experiment commands' measuring options that a scenario fixes itself
    p.set_defaults(duration=None, max_duration=120.0, repeat=1, cooldown=0.0, resume=None)
    common(p)


def check(args):
    """The scenario's SPEC from the command line, its options checked."""
    from runners import mlperf
    from runners.spec import parse_spec

    if args.scenario not in mlperf.SCENARIOS:
        raise BadInput(f"--scenario {args.scenario!r}: one of {', '.join(mlperf.SCENARIOS)}" if args.scenario
                       else f"--scenario is required: one of {', '.join(mlperf.SCENARIOS)}")
    if not args.tenant:
        raise BadInput("--tenant SPEC is required, e.g. --tenant mobilenet_v2,framework=tflite")
    spec = parse_spec(args.tenant, rate_set_later=True)  # rt= without a rate: server's arrivals are LoadGen's
    if any(v is not None for v in (spec.rate, spec.arrival, spec.seed, spec.queue, spec.slo_ms)):
        raise BadInput(f"--tenant {args.tenant!r}: the scenario sets the arrivals and the bound; leave rate=, "
                       "arrival=, seed=, queue= and slo= out of the SPEC")
    server = args.scenario == mlperf.SERVER
    if spec.rt and not server:
        raise BadInput(f"--tenant {args.tenant!r}: rt=on waits for scheduled arrivals, which only --scenario server "
                       "has; leave it out")
    if server and (args.latency_bound is None or args.target_qps is None):
        raise BadInput("--scenario server needs --latency-bound MS and --target-qps QPS")
    if not server and (args.latency_bound is not None or args.target_qps is not None or args.seed is not None):
        raise BadInput(f"--latency-bound, --target-qps and --seed are server's; --scenario {args.scenario} "
                       "has none")
    if args.expected_qps is not None and args.scenario != mlperf.OFFLINE:
        raise BadInput(f"--expected-qps is offline's; --scenario {args.scenario} has none")
    if args.seed is not None and not 0 <= args.seed < 2 ** 64:
        raise BadInput(f"--seed {args.seed}: give a whole number from 0 to 2^64 - 1")
    return spec


def mlperf_command(args) -> int:
    from runners.experiments import mlperf_scenario
    from tui.experiments_cli import _checker, _execute, _prepare, _request

    cfg, db, cache = _prepare(args, mlperf_scenario.EXPERIMENT)
    spec = check(args)
    checker = _checker(cfg, [spec])
    request = _request(args, mlperf_scenario.EXPERIMENT, [spec], cache, scenario=args.scenario, quick=args.quick,
                       latency_bound_ms=args.latency_bound, target_qps=args.target_qps,
                       expected_qps=args.expected_qps, seed=args.seed)
    return _execute(args, cfg, db, checker, request, failed=lambda summary: not (summary or {}).get("ok"))
