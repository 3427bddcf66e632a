"""The ``s`` dialog: start one of the study's experiments on the live run.

The form picks the experiment (concurrency sweep, batch sweep, tuner), the SPEC (by
default the selected group's) and its few parameters, and validates them with the same
parser the CLI uses. It dismisses with an ``ExperimentRequest``; the app runs it as a
worker on the session's Supervisor (tenants appear in the table like any group) and shows
its progress in the ExperimentBar below the tenants (tui/widgets/experiment_bar.py).
"""
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from runners.errors import BadInput
from runners import limits
from runners.spec import check_batch, parse_spec
from tui.screens.form import FormScreen

KINDS = (
    ("concurrency sweep", "sweep-concurrency"),
    ("batch sweep", "sweep-batch"),
    ("tune (concurrency x batch x isolation)", "tune"),
)
STRATEGIES = ("search", "linear", "doubling")


@dataclass
class ExperimentRequest:
    kind: str  # sweep-concurrency | sweep-batch | tune
    spec: object  # TenantSpec
    max_level: int = 4
    strategy: str = "search"
    batches: list = field(default_factory=lambda: [1, 2, 4])
    duration: float = 3.0

    @property
    def steps(self) -> int:
        """How many levels the progress bar expects (an upper bound for sweeps)."""
        if self.kind == "sweep-batch":
            return len(self.batches)
        if self.kind == "tune":
            return max(1, (self.max_level * len(self.batches) * 2) // 4)
        return self.max_level


def parse_request(kind: str, spec_text: str, max_level: str, strategy: str, batches: str,
                  duration: str) -> ExperimentRequest:
    """Checks the form's fields; raises BadInput naming the bad one."""
    if kind not in {k for _, k in KINDS}:
        raise BadInput(f"experiment {kind!r}; accepted: {', '.join(k for _, k in KINDS)}")
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
    return ExperimentRequest(kind, spec.with_changes(count=1), level, strategy, sorted(set(batch_list)), secs)


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
            ):
                with Horizontal(classes="row"):
                    yield Label(label, classes="label")
                    yield widget
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
            )
        except BadInput as exc:
            self.show_error(str(exc))
            return
        self.dismiss(req)


async def run_request(session, req: ExperimentRequest, progress, stop) -> dict:
    """Runs one request on the session's Supervisor; returns the experiment's summary."""
    from runners.experiments.common import Context

    ctx = Context(session.supervisor, session.store, session.run_id, req.kind, duration=req.duration,
                  progress=progress, stop=stop)
    session.store.add_event(session.run_id, session.supervisor.now(), "experiment_started", None,
                            {"experiment": req.kind, "spec": str(req.spec), "max_level": req.max_level,
                             "strategy": req.strategy, "batches": req.batches, "duration": req.duration})
    if req.kind == "sweep-concurrency":
        from runners.experiments import concurrency_sweep

        # warm: the running tenants stay between levels, as a person stepping with '+' would
        summary = await concurrency_sweep.run(ctx, req.spec, req.max_level, req.strategy, warm=True)
    elif req.kind == "sweep-batch":
        from runners.experiments import batch_sweep

        summary = await batch_sweep.run(ctx, req.spec, req.batches)
    else:
        from runners.experiments import tuner

        axes = tuner.axes_for(req.max_level, req.batches, ["process", "thread"])
        summary = await tuner.run(ctx, req.spec, axes)
    session.store.add_event(session.run_id, session.supervisor.now(), "experiment_done", None,
                            {"experiment": req.kind, "summary": summary})
    return summary


def summary_line(kind: str, summary: dict) -> str:
    """One line for the progress panel and the events log."""
    if not isinstance(summary, dict):
        return f"{kind}: done"
    keys = [k for k in ("max_level", "best_level", "best_batch", "largest_runnable_batch", "best", "best_throughput", "gain",
                        "levels_measured", "batches_measured", "measured", "ended_by") if summary.get(k) is not None]
    parts = []
    for k in keys:
        v = summary[k]
        parts.append(f"{k.replace('_', ' ')} {v:.2f}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}")
    return f"{kind}: " + ", ".join(parts) if parts else f"{kind}: done"
