"""The ``s`` dialog: start one of the study's experiments on the live run.

The form picks the experiment (concurrency sweep, batch sweep, tuner, capacity search), the SPEC (by
default the selected group's) and its few parameters (the tuner's objective as ``edgemt tune
--objective``: throughput, throughput per watt, or the most streams within an SLO), and
validates them with the same rules the CLI uses. It dismisses with an ``ExperimentRequest``
(runners/experiments/request.py, the one the CLI builds too); the app runs it with
``run_experiment`` as a worker on the session's Supervisor (tenants appear in the table
like any group) and shows its progress in the ExperimentBar below the tenants
(tui/widgets/experiment_bar.py).
"""
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from runners.errors import BadInput
from runners import limits
from runners.experiments.request import ExperimentRequest
from runners.spec import check_batch, parse_spec
from tui.screens.form import FormScreen

KINDS = (
    ("concurrency sweep", "sweep-concurrency"),
    ("batch sweep", "sweep-batch"),
    ("tune (concurrency x batch x isolation)", "tune"),
    ("capacity (largest rate / streams within an SLO)", "capacity"),
)
STRATEGIES = ("search", "linear", "doubling")
OBJECTIVES = ("throughput", "throughput-per-watt", "slo")  # the tuner's (edgemt tune --objective)


def parse_request(kind: str, spec_text: str, max_level: str, strategy: str, batches: str,
                  duration: str, slo: str = "", rate_max: str = "", fps: str = "",
                  objective: str = "throughput") -> ExperimentRequest:
    """Checks the form's fields; raises BadInput naming the bad one. ``slo``, ``rate_max``
    and ``fps`` are a capacity search's (``max_level``: its most streams with ``fps``);
    ``objective`` the tuner's, whose ``slo`` takes the SLO and each stream's rate from
    ``slo`` and ``fps`` (or the SPEC's slo= and rate=)."""
    if kind not in {k for _, k in KINDS}:
        raise BadInput(f"experiment {kind!r}; accepted: {', '.join(k for _, k in KINDS)}")
    if objective not in OBJECTIVES:
        raise BadInput(f"objective {objective!r}; accepted: {', '.join(OBJECTIVES)}")
    spec = parse_spec(spec_text)
    if not limits._INT_RE.match(max_level.strip()):
        raise BadInput(f"max level {max_level!r} is not a number; give a whole number from 1 to 256")
    level = int(max_level)
    if not 1 <= level <= 256:
        raise BadInput(f"max level {level} is out of range; give 1 to 256")
    if strategy not in STRATEGIES:
        raise BadInput(f"strategy {strategy!r}; accepted: {', '.join(STRATEGIES)}")
    try:
        batch_list = [check_batch(b.strip(), "batch") for b in batches.split(",") if b.strip()]
    except BadInput:
        raise BadInput(f"batches {batches!r}: give a comma list of whole numbers, e.g. 1,2,4") from None
    if not batch_list:
        raise BadInput("batches is empty; give a comma list, e.g. 1,2,4")
    try:
        secs = limits.seconds(duration, limits.DURATION_S)
    except ValueError as exc:
        raise BadInput(f"duration {exc}") from None
    if kind == "capacity":
        return _capacity_request(spec, level, slo, rate_max, fps, secs)
    if kind == "tune":
        spec = _tune_spec(spec, objective, slo, fps)
        return ExperimentRequest(kind, [spec.with_changes(count=1)], max_level=level, batches=sorted(set(batch_list)),
                                 duration=secs, objective=objective)
    # warm: the running tenants stay between levels, as a person stepping with '+' would
    return ExperimentRequest(kind, [spec.with_changes(count=1)], max_level=level, strategy=strategy,
                             batches=sorted(set(batch_list)), duration=secs, warm=kind == "sweep-concurrency")


def _stream_rate(text: str, name: str):
    """A rate field (queries a second), None when empty."""
    from runners.spec import RATE

    if not text.strip():
        return None
    try:
        return limits.real(text.strip(), *RATE, "queries a second")
    except ValueError as exc:
        raise BadInput(f"{name} {exc}") from None


def _tune_spec(spec, objective: str, slo: str, fps: str):
    """The tuned SPEC. For ``objective`` slo (``edgemt tune --objective slo``: each tenant a
    stream at the SPEC's rate=, judged against its slo=) the SLO and fps fields give them,
    an empty one leaving the SPEC's; without either the form says which is missing."""
    from runners.spec import parse_slo, with_rate

    if objective != "slo":
        return spec
    rate = _stream_rate(fps, "fps")
    if rate is None and (spec.rate is None or spec.arrival == "trace"):
        raise BadInput("objective slo needs each stream's rate: give fps (queries a second per stream), e.g. 15")
    slo = slo.strip()
    if slo:
        parse_slo(slo, f"SLO {slo!r}", "SLO")
    elif spec.slo_ms is None:
        raise BadInput("objective slo needs the SLO: give MS (the p99 bound) or pN:MS, e.g. 100 or p90:100")
    return with_rate(spec, rate if rate is not None else spec.rate, slo or None)


def _capacity_request(spec, level, slo, rate_max, fps, secs) -> ExperimentRequest:
    """A capacity search, checked by the rules of ``edgemt capacity`` (tui/capacity_cli.check).
    A selected open-loop group's rate= and slo= give way to the search's; its arrival, seed,
    queue and rt stay, as in the SPEC of ``edgemt capacity`` (runners.spec.without_rate)."""
    from types import SimpleNamespace

    from runners.spec import without_rate
    from tui import capacity_cli

    args = SimpleNamespace(slo=slo.strip() or None, rate_max=_stream_rate(rate_max, "rate max"),
                           fps=_stream_rate(fps, "fps"), step=None, max=None)
    spec = without_rate(spec)
    try:
        spec, pct, ms, mode = capacity_cli.check(args, str(spec))
    except BadInput as exc:  # the CLI's words, in the form's field names
        text = str(exc)
        for flag, field in (("--slo MS", "the SLO"), ("--slo", "SLO"), ("--rate-max R", "a rate max"),
                            ("--fps F", "an fps"), ("--rate-max", "rate max"), ("--fps", "fps"), ("--tenant", "SPEC")):
            text = text.replace(flag, field)
        raise BadInput(text) from None
    return ExperimentRequest("capacity", [spec], max_level=level if mode == "streams" else None, slo_ms=ms,
                             slo_pct=pct, rate_max=args.rate_max, fps=args.fps, duration=secs)


class ExperimentScreen(FormScreen):
    """Dismisses with an ExperimentRequest, or None on escape."""

    def __init__(self, spec_text: str = "mobilenet_v2"):
        super().__init__()
        self.spec_text = spec_text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Start an experiment[/] on this run", classes="title")
            for label, widget in (
                ("experiment", Select([(t, k) for t, k in KINDS], value="sweep-concurrency", allow_blank=False,
                                      id="kind")),
                ("SPEC", Input(self.spec_text, id="spec")),
                ("max level", Input("4", id="max_level")),
                ("strategy", Select([(s, s) for s in STRATEGIES], value="search", allow_blank=False, id="strategy")),
                ("batches", Input("1,2,4", id="batches")),
                ("s per level", Input("3", id="duration")),
                ("SLO", Input("100", id="slo")),
                ("  rate max /s", Input("", id="rate_max")),
                ("  or fps", Input("", id="fps")),
            ):
                with Horizontal(classes="row"):
                    yield Label(label, classes="label")
                    yield widget
                    if label == "strategy":  # the tuner's, beside the sweep's: one row more would not fit 36 lines
                        yield Label("objective", classes="label")
                        yield Select([(o, o) for o in OBJECTIVES], value="throughput", allow_blank=False,
                                     id="objective")
            yield Static("tune, objective slo: the SLO, and fps as each stream's rate", classes="hint")
            yield Static("", id="error", classes="error")
            yield self.buttons("Start")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        q = self.query_one
        try:
            req = parse_request(
                q("#kind", Select).value, q("#spec", Input).value, q("#max_level", Input).value,
                q("#strategy", Select).value, q("#batches", Input).value, q("#duration", Input).value,
                q("#slo", Input).value, q("#rate_max", Input).value, q("#fps", Input).value,
                q("#objective", Select).value,
            )
        except BadInput as exc:
            self.show_error(str(exc))
            return
        self.dismiss(req)


def summary_line(kind: str, summary: dict) -> str:
    """One line for the progress panel and the events log."""
    if not isinstance(summary, dict):
        return f"{kind}: done"
    keys = [k for k in ("max_rate", "max_streams", "first_failed_rate", "first_failed_streams", "max_level",
                        "best_level", "best_batch", "largest_runnable_batch", "best", "best_streams", "best_throughput",
                        "gain", "levels_measured", "batches_measured", "measured", "ended_by") if summary.get(k) is not None]
    parts = []
    for k in keys:
        v = summary[k]
        parts.append(f"{k.replace('_', ' ')} {v:.2f}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}")
    return f"{kind}: " + ", ".join(parts) if parts else f"{kind}: done"
