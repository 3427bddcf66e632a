"""One experiment asked of a run, and the one function that runs it.

Both front ends go through here: the experiment commands (``edgemt sweep batch|concurrency``,
``dmp``, ``tune``: tui/experiments_cli.py) and the UI's ``s`` key (tui/screens/experiment.py).
Each checks its own input, builds an ``ExperimentRequest`` and calls ``run_experiment`` on
its session, which measures on the session's Supervisor, writes each level to ``results``,
logs ``experiment_started`` and ``experiment_done`` events and returns the experiment's
summary. Nothing here knows which front end asked.
"""
from dataclasses import dataclass, field
from typing import List, Optional

KINDS = ("sweep-batch", "sweep-concurrency", "dmp", "tune", "capacity", "mlperf")


@dataclass
class ExperimentRequest:
    """What to run: the kind, its SPECs and its parameters, and how each level is measured.
    The parameters a kind does not use are left at their defaults."""

    kind: str  # one of KINDS
    specs: list  # TenantSpec: the group swept or tuned; dmp: one group per placement
    # sweep-batch, tune: the batches tried (sweep-batch default: 1, 2, 4, ..., 256)
    batches: Optional[List[int]] = None
    # sweep-concurrency, tune: the highest level; dmp: the highest tried alone (None: each SPEC's count)
    max_level: Optional[int] = None
    strategy: str = "linear"  # sweep-concurrency: linear | doubling | search
    warm: bool = False  # sweep-concurrency: keep the running tenants between levels
    as_given: bool = False  # dmp: alone and together at the SPECs' counts
    objective: str = "throughput"  # tune: throughput | throughput-per-watt | slo; dmp: throughput | slo
    p99_ms: Optional[float] = None  # tune: the p99 latency limit
    isolations: Optional[List[str]] = None  # tune (None: every isolation)
    budget: Optional[int] = None  # tune: configurations to measure (None: a quarter of the grid)
    full_grid: bool = False  # tune: measure every configuration
    # capacity (runners/experiments/capacity.py): the SLO, and the rate grid (rate_max, step)
    # or the streams' rate (fps, up to max_level streams)
    slo_ms: Optional[float] = None
    slo_pct: float = 99.0
    rate_max: Optional[float] = None
    step: Optional[float] = None
    fps: Optional[float] = None
    # mlperf (runners/experiments/mlperf_scenario.py): the scenario and its settings
    scenario: Optional[str] = None
    quick: bool = False
    latency_bound_ms: Optional[float] = None  # server
    target_qps: Optional[float] = None  # server
    expected_qps: Optional[float] = None  # offline: sizes its one query
    seed: Optional[int] = None  # server's schedule (None: mlperf.conf's)
    # measuring each level (runners/experiments/common.py Context)
    duration: Optional[float] = None  # None: the steady-state rule
    max_s: float = 120.0
    repeat: int = 1
    cooldown: float = 0.0
    cache: dict = field(default_factory=dict)  # levels of the run being resumed (key JSON -> value)
    resumed_from: Optional[int] = None

    @property
    def spec(self):
        """The SPEC of a one-group experiment (every kind but dmp)."""
        return self.specs[0]

    def batch_list(self) -> list:
        from runners.experiments import batch_sweep

        if self.batches:
            return list(self.batches)
        return list(batch_sweep.DEFAULT_BATCHES) if self.kind == "sweep-batch" else [1, 2, 4, 8]

    def isolation_list(self) -> list:
        from runners.spec import ISOLATIONS

        return list(self.isolations) if self.isolations else list(ISOLATIONS)

    def concurrency_max(self) -> int:
        return self.max_level or (64 if self.kind == "sweep-concurrency" else 4)

    @property
    def steps(self) -> int:
        """How many levels a progress bar expects (an upper bound where the search may stop early)."""
        import math

        from runners.experiments import search

        if self.kind == "sweep-batch":
            return len(self.batch_list())
        if self.kind == "sweep-concurrency":
            top = self.concurrency_max()
            return {"linear": top, "doubling": int(math.log2(top)) + 2,
                    "search": search.search_budget(top)}[self.strategy]
        if self.kind == "dmp":
            return sum(1 if self.as_given else (self.max_level or s.count) for s in self.specs) + 1
        if self.kind == "capacity":
            return search.search_budget(self.capacity_levels()[1])
        if self.kind == "mlperf":
            return 1
        grid = self.concurrency_max() * len(self.batch_list()) * len(self.isolation_list())
        return grid if self.full_grid else min(grid, self.budget or search.default_budget(grid))

    def capacity_levels(self):
        """(rate step or None, number of levels) of a capacity search."""
        from runners.experiments import capacity

        if self.fps is not None:
            return None, self.max_level or 64
        return capacity.rate_grid(self.rate_max, self.step)

    def describe(self) -> dict:
        """The request as the ``experiment_started`` event records it."""
        out = {"experiment": self.kind, "spec": str(self.spec)}
        if self.kind == "dmp":
            out["specs"] = [str(s) for s in self.specs]
            out.update(as_given=self.as_given, max_level=self.max_level, objective=self.objective)
        elif self.kind == "sweep-batch":
            out["batches"] = self.batch_list()
        elif self.kind == "sweep-concurrency":
            out.update(max_level=self.concurrency_max(), strategy=self.strategy, warm=self.warm)
        elif self.kind == "capacity":
            out.update(slo_ms=self.slo_ms, slo_pct=self.slo_pct, rate_max=self.rate_max, step=self.step, fps=self.fps,
                       max_level=self.max_level)
        elif self.kind == "mlperf":
            out.update(scenario=self.scenario, quick=self.quick, latency_bound_ms=self.latency_bound_ms,
                       target_qps=self.target_qps, expected_qps=self.expected_qps, seed=self.seed)
        else:
            out.update(max_level=self.concurrency_max(), batches=self.batch_list(), isolations=self.isolation_list(),
                       objective=self.objective, p99_ms=self.p99_ms, budget=self.budget, full_grid=self.full_grid)
        out.update(duration=self.duration, repeat=self.repeat)
        return out


async def run_experiment(session, request: ExperimentRequest, progress=None, stop=None) -> dict:
    """Runs ``request`` on ``session`` (its ``supervisor``, ``store``, ``run_id`` and ``stop``
    event: tui/session.py); returns the experiment's summary. ``progress(text, advance)``
    hears each level; ``stop`` (default: the session's) ends the experiment early, what it
    measured kept."""
    from runners.experiments.common import Context

    if request.kind not in KINDS:
        from runners.errors import BadInput

        raise BadInput(f"experiment {request.kind!r}; accepted: {', '.join(KINDS)}")
    ctx = Context(session.supervisor, session.store, session.run_id, request.kind, duration=request.duration,
                  max_s=request.max_s, repeat=request.repeat, cooldown=request.cooldown,
                  stop=stop if stop is not None else getattr(session, "stop", None), progress=progress,
                  cache=request.cache, resumed_from=request.resumed_from)
    sup, store = session.supervisor, session.store
    store.add_event(session.run_id, sup.now(), "experiment_started", None, request.describe())
    if request.kind == "sweep-batch":
        from runners.experiments import batch_sweep

        summary = await batch_sweep.run(ctx, request.spec, request.batch_list())
    elif request.kind == "sweep-concurrency":
        from runners.experiments import concurrency_sweep

        summary = await concurrency_sweep.run(ctx, request.spec, request.concurrency_max(), request.strategy,
                                              request.warm)
    elif request.kind == "capacity":
        from runners.experiments import capacity

        step, levels = request.capacity_levels()
        summary = await capacity.run(ctx, request.spec, request.slo_ms, request.slo_pct,
                                     "streams" if request.fps is not None else "rate", rate_max=request.rate_max,
                                     step=step, fps=request.fps, max_streams=levels)
    elif request.kind == "mlperf":
        from runners import mlperf
        from runners.experiments import mlperf_scenario

        summary = await mlperf_scenario.run(ctx, request.spec, request.scenario, quick=request.quick,
                                            expected_qps=request.expected_qps,
                                            latency_bound_ms=request.latency_bound_ms, target_qps=request.target_qps,
                                            seed=mlperf.RULE_SCHEDULE_SEED if request.seed is None else request.seed)
    elif request.kind == "dmp":
        from runners.experiments import dmp

        summary = await dmp.run(ctx, request.specs, as_given=request.as_given, max_level=request.max_level,
                                objective=request.objective)
    else:
        from runners.experiments import tuner

        axes = tuner.axes_for(request.concurrency_max(), sorted(request.batch_list()), request.isolation_list())
        summary = await tuner.run(ctx, request.spec, axes, request.objective, request.p99_ms, request.budget,
                                  request.full_grid)
    store.add_event(session.run_id, sup.now(), "experiment_done", None, {"experiment": request.kind,
                                                                         "summary": summary})
    return summary
