"""The Supervisor: owns the runner children of a run and applies every command to them.

asyncio-native. It starts runner processes (one per tenant with ``process`` isolation,
one per group with ``thread``), reads their reports, aggregates windows, writes every
window and event to the Store, and tells subscribers (the TUI, the headless CLI, the
experiments) what happened. A runner process that fails, hangs or is killed fails only
its own tenants: the others and the supervisor go on.
"""
import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from runners import paths
from storage import aggregate
from storage.aggregate import Window
from runners.child import latency, wire
from runners.child_spec import child_spec
from runners.errors import BadInput
from runners.exit_reasons import exit_reason
from runners.run_log import RunLog
from runners.runner_process import RunnerProcess, watch
from runners.tenant_state import ACTIVE, TenantState
from runners.spec import DEFAULT_ISOLATION, TenantSpec, check_batch, kept_precision, with_rate
from runners.open_loop import window_queries
from runners.window_log import KEEP, WindowLog, compact_hist
from runners.catalog import CATALOG

log = logging.getLogger(__name__)



@dataclass(eq=False)
class Tenant:
    id: int
    group: "Group"
    spec: TenantSpec
    batch: int
    runner: "RunnerProcess" = None
    status: TenantState = TenantState.STARTING
    error: str = None
    moved_from: int = None
    started_t: float = 0.0
    ended_t: float = None
    warm_t: float = None
    weights: str = None
    runtime: str = None
    # Its windows in bounded memory: the last few, running totals, the DB for older ones
    # (runners/window_log.py). There is no list of every window: a run of days must not grow.
    log: WindowLog = None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    # Re-preparing inputs after a batch change: the child sends no window until it is done
    # (a large batch can take long), so the watchdog allows it ten times the usual silence.
    settling: bool = False
    # time.monotonic() of its last window, warm-up, resume or batch change (_heard), and which
    # of those it was: the watchdog and shutdown judge its silence from there
    last_seen: float = None
    heard_why: str = "it started"
    heard_t: float = None  # the same moment on the run's clock (a window's end for a window)
    # Judged when the run ends: a tenant healthy then is recorded stopped however long its
    # runner takes to stop (issue 13); one already silent past the hang limit is failed.
    healthy_at_stop: bool = True
    silent_at_stop: float = 0.0
    # The child's batch_clamped for the current batch ({"asked", "used", "reason"}), or None:
    # ``batch`` is then the batch that runs, not the one asked for.
    clamped: dict = None

    def __post_init__(self):
        if self.log is None:
            self.log = WindowLog(self.id)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    # -- windows (see runners/window_log.py) -----------------------------------------------
    @property
    def recent(self):
        """The last few windows (a bounded deque, oldest first)."""
        return self.log.recent

    @property
    def last_window(self):
        return self.log.last

    @property
    def n_windows(self) -> int:
        """Windows received since the tenant started."""
        return self.log.count

    @property
    def images(self) -> int:
        return self.log.images

    @property
    def batches(self) -> int:
        return self.log.batches

    @property
    def hist(self) -> dict:
        """Latency histogram over every window so far."""
        return self.log.hist

    def windows_between(self, since: float = None, until: float = None) -> list:
        """The whole windows inside ``[since, until]``: from memory when recent, else from the DB."""
        return self.log.between(since, until)

    def totals(self, since: float = None, until: float = None):
        """(images, batches, first start, last end) of the whole windows inside the span."""
        return self.log.totals(since, until)

    def throughput(self, since: float = None, until: float = None) -> float:
        return self.log.throughput(since, until)

    def current_throughput(self) -> float:
        w = self.log.last
        if w is None:
            return 0.0
        return w.images / (w.t_end - w.t_start)

    def latency_ms(self, q: float):
        p = latency.percentile(self.log.hist, q)
        return None if p is None else p * 1000.0


@dataclass(eq=False)
class Group:
    id: int
    spec: TenantSpec
    tenants: list = field(default_factory=list)  # every tenant ever started, in order
    paused: bool = False
    # thread isolation: the group's runner processes (spec.procs of them at most, default 1)
    shared_runners: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"g{self.id}"

    @property
    def active(self) -> list:
        return [t for t in self.tenants if t.active]

    @property
    def count(self) -> int:
        return len(self.active)


def _power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


class Supervisor:
    """Runs groups of tenants for one run and records everything to the store."""

    def __init__(self, store: RunLog, run_id: int, *, python_for, window_s: float = 1.0, images: str = None,
                 include_transfer: bool = False, warmup_batches: int = 3, hang_windows: int = 3,
                 logs_dir: Path = None, models_dir: Path = None, placement_checker=None, t0: float = None,
                 recent_windows: int = KEEP):
        self.store = store
        self.run_id = run_id
        self.python_for = python_for  # framework -> interpreter path
        self.window_s = window_s
        self.images = images
        self.include_transfer = include_transfer
        self.warmup_batches = warmup_batches
        self.hang_windows = hang_windows
        self.recent_windows = recent_windows  # windows kept in memory per tenant
        self.logs_dir = Path(logs_dir or paths.logs_dir()) / f"run{run_id}"
        self.models_dir = str(models_dir or paths.models_dir())
        self.checker = placement_checker
        self.t0 = time.monotonic() if t0 is None else t0
        self.groups = {}
        self.tenants = {}
        self.runners = set()
        self._listeners = []
        self._subscriber_errors = {}  # callback -> how many of its calls raised
        self._next_group = 1
        self._watchdog = None
        self._closed = False
        self._frameworks = {}  # framework -> versions its children reported (runs.host["frameworks"])

    # -- subscriptions ---------------------------------------------------------------
    def subscribe(self, callback):
        """callback(kind, data) for kind in window | tenant | event; called in the loop's thread."""
        self._listeners.append(callback)

    def _notify(self, kind, data):
        for cb in list(self._listeners):
            try:
                cb(kind, data)
            except Exception:
                # A broken subscriber must not stop measuring, nor flood the log once a window:
                # its first error is logged with the traceback, then the 10th, 100th, ... with the count.
                n = self._subscriber_errors.get(cb, 0) + 1
                self._subscriber_errors[cb] = n
                if n == 1 or _power_of_ten(n):
                    log.exception("subscriber %r raised on a %s notification (%d time(s)); it is still called",
                                  cb, kind, n)

    def now(self) -> float:
        """Seconds since the run started, on the monotonic clock every child shares."""
        return time.monotonic() - self.t0

    def _log_event(self, kind: str, tenant, detail: dict = None):
        t = self.now()
        tid = tenant.id if isinstance(tenant, Tenant) else tenant
        self.store.add_event(self.run_id, t, kind, tid, detail or {})
        self._notify("event", {"t": t, "kind": kind, "tenant": tid, "detail": detail or {}})

    # -- commands --------------------------------------------------------------------------
    def _ensure_watchdog(self):
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def add_group(self, spec: TenantSpec) -> Group:
        """Starts ``spec.count`` tenants of one SPEC as a new group."""
        if self.checker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.checker.check, spec)
        self._ensure_watchdog()
        group = Group(self._next_group, spec)
        self._next_group += 1
        self.groups[group.id] = group
        self._log_event("added", None, {"group": group.id, "spec": str(spec), "count": spec.count})
        # one transaction for the group's rows: 2,000 tenants are one commit
        ids = self.store.add_tenants(self.run_id, [self._tenant_row(group) for _ in range(spec.count)])
        for tid in ids:
            await self._start_tenant(group, tid=tid)
        return group

    async def step(self, group_id: int, delta: int) -> int:
        """Adds (delta > 0) or stops the newest (delta < 0) tenants; returns the new count."""
        group = self._group(group_id)
        before = group.count
        if delta > 0:
            for _ in range(delta):
                await self._start_tenant(group)
        else:
            victims = group.active[::-1][: -delta]
            await self._stop_tenants(victims)
        self._log_event("stepped", None, {"group": group.id, "from": before, "to": group.count})
        return group.count

    async def set_batch(self, group_id: int, batch: int):
        group = self._group(group_id)
        batch = check_batch(batch)
        old = group.spec.batch
        group.spec = group.spec.with_changes(batch=batch)
        for t in group.active:
            t.batch = batch
            t.clamped = None
            self.store.update_tenant(t.id, batch=batch)
            t.settling = True
            self._heard(t, "its batch changed")
            t.runner.send({"cmd": "set_batch", "tenant": t.id, "batch": batch})
        self._log_event("batch_changed", None, {"group": group.id, "from": old, "to": batch})

    async def set_rate(self, group_id: int, rate, slo=None):
        """Runs a group open-loop at ``rate`` queries a second per tenant, or closed-loop
        (``rate`` empty, None or 0); ``slo``: its SLO (``MS`` or ``pN:MS``, "" for none, None
        to keep it). Checked as a SPEC's keys (runners/spec.with_rate); each tenant's
        schedule starts again at its next window edge (the child's ``set_rate``)."""
        group = self._group(group_id)
        old = group.spec
        spec = with_rate(old, rate, slo)
        group.spec = spec
        for i, t in enumerate(group.tenants):
            if not t.active:
                continue
            t.spec = spec
            self.store.update_tenant(t.id, spec=json.dumps(spec.to_dict()))
            cs = self.child_spec(spec, t.batch, stream=i)
            t.runner.send(dict({k: cs[k] for k in wire.OPEN_LOOP_KEYS},
                               cmd="set_rate", tenant=t.id))
            self._heard(t, "its rate changed")
            self._notify("tenant", t)
        # what was in force before as well as after: a replay shows each at its time (tui/replay.py)
        self._log_event("rate_changed", None, {"group": group.id, "from": old.rate, "to": spec.rate,
                                               "slo_ms": spec.slo_ms, "slo_pct": spec.slo_pct,
                                               "from_slo_ms": old.slo_ms, "from_slo_pct": old.slo_pct})

    async def pause(self, group_id: int):
        await self._pause(group_id, True)

    async def resume(self, group_id: int):
        await self._pause(group_id, False)

    async def _pause(self, group_id: int, paused: bool):
        group = self._group(group_id)
        group.paused = paused
        for t in group.active:
            t.runner.send({"cmd": "pause" if paused else "resume", "tenant": t.id})
            if not paused:
                self._heard(t, "it was resumed")  # the child counts from the next window edge
            if t.status != TenantState.STARTING:
                t.status = TenantState.PAUSED if paused else TenantState.RUNNING
                self.store.update_tenant(t.id, status=t.status)
            t.runner.last_report = time.monotonic()  # a paused tenant sends no windows
            self._notify("tenant", t)
        self._log_event("paused" if paused else "resumed", None, {"group": group.id})

    async def remove(self, group_id: int):
        group = self._group(group_id)
        await self._stop_tenants(group.active)
        del self.groups[group.id]
        self._log_event("removed", None, {"group": group.id})

    async def move(self, group_id: int, framework: str, resource: str) -> Group:
        """Stops every tenant of a group and starts as many on another placement (DMP)."""
        group = self._group(group_id)
        old_spec = group.spec
        if not CATALOG.get(old_spec.model) or not CATALOG[old_spec.model].supports(framework):
            raise BadInput(f"model {old_spec.model!r} cannot move to {framework}: the catalog has no {framework} version")
        new_spec = old_spec.with_changes(
            framework=framework, resource=resource,
            isolation=old_spec.isolation if framework == old_spec.framework else DEFAULT_ISOLATION[framework],
            file=old_spec.file if framework == old_spec.framework else None,
            autotune=old_spec.autotune if framework == "mxnet" else None,
            precision=kept_precision(old_spec.precision, framework, resource),
        )
        if new_spec.placement == old_spec.placement:
            raise BadInput(f"group {group.label} already runs on {old_spec.placement}")
        if self.checker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.checker.check, new_spec)
        old = group.active
        await self._stop_tenants(old)
        group.spec = new_spec
        group.shared_runners = []
        group.paused = False
        for t in old:
            await self._start_tenant(group, moved_from=t.id)
        self._log_event("moved", None, {"group": group.id, "from": old_spec.placement, "to": new_spec.placement,
                                        "count": len(old)})
        return group

    def stop_grace(self, tenants: int) -> float:
        """Seconds the runners get to stop ``tenants`` tenants before they are killed: a runner
        of 2,000 thread tenants has 2,000 interpreters to release, so the grace scales with
        the number of tenants (10 s + 20 ms a tenant)."""
        return 10.0 + 0.02 * tenants

    def _hang_limit(self) -> float:
        return self.hang_windows * self.window_s + 0.5

    async def shutdown(self, timeout: float = None):
        """Stops every tenant cleanly, then kills whatever did not stop within the grace
        (``timeout``, default ``stop_grace`` of the live tenants).

        Stopping is not failing: a tenant that was healthy when the run ended (reporting
        within the hang limit, or paused, starting or settling) is recorded ``stopped`` even
        if its runner had to be killed; one already silent past the hang limit is
        ``failed``. The grace, and every forced stop with its reason, are events."""
        if self._closed:
            return
        self._closed = True
        if self._watchdog:
            self._watchdog.cancel()
        live = [t for t in self.tenants.values() if t.active]
        grace = self.stop_grace(len(live)) if timeout is None else timeout
        now, limit = time.monotonic(), self._hang_limit()
        for t in live:
            seen = t.last_seen if t.last_seen is not None else t.runner.last_report if t.runner else now
            t.silent_at_stop = now - seen
            t.healthy_at_stop = t.status != TenantState.RUNNING or t.settling or t.silent_at_stop <= limit
        runners = list(self.runners)
        if live or runners:
            self._log_event("stopping", None, {"tenants": len(live), "runners": len(runners),
                                                "grace_s": round(grace, 3)})
        for r in runners:
            r.send({"cmd": "stop"})
        waits = [r.exited.wait() for r in runners]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), grace)
            except asyncio.TimeoutError:
                pass
        late = [r for r in list(self.runners) if not r.exited.is_set()]
        for r in late:
            r.stopping = True  # its healthy tenants are stopped, not failed; see _on_runner_exit
            r.kill(f"did not stop within the {grace:.3g} s grace")
            tids = [tid for tid in r.tenants if self.tenants[tid].active]
            hung = [tid for tid in tids if not self.tenants[tid].healthy_at_stop]
            self._log_event("stop_forced", None, {
                "runner": r.pid, "grace_s": round(grace, 3), "tenants": len(tids), "hung": hung,
                "reason": f"runner {r.pid} did not stop within the {grace:.3g} s grace and was killed; "
                          f"{len(tids) - len(hung)} tenants healthy until the run ended are recorded stopped"
                          + (f", {len(hung)} already silent past the hang limit failed" if hung else "")})
        waits = [r.exited.wait() for r in late]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), 5)
            except asyncio.TimeoutError:
                pass
        for t in self.tenants.values():
            if t.active:
                self._set_stopped(t)
        self.store.flush()

    # -- internals -------------------------------------------------------------------------
    def _group(self, group_id: int) -> Group:
        if group_id not in self.groups:
            known = ", ".join(g.label for g in self.groups.values()) or "none"
            raise BadInput(f"no group g{group_id}; groups: {known}")
        return self.groups[group_id]

    def child_spec(self, spec: TenantSpec, batch: int, stream: int = 0) -> dict:
        """The spec of the ``start`` command this supervisor sends for a tenant of ``spec``
        (``stream``: its index in the group, for its arrivals' seed)."""
        return child_spec(spec, batch=batch, models_dir=self.models_dir, stream=stream, images=self.images,
                          include_transfer=self.include_transfer, window_s=self.window_s, epoch=self.t0,
                          warmup_batches=self.warmup_batches)

    async def _new_runner(self, framework: str, name: str, threads: int = None) -> "RunnerProcess":
        # threads= is per tenant; runtimes that size their OpenMP pool at import (MXNet) only
        # take it from the environment, so the runner process gets it there too.
        env = {"OMP_NUM_THREADS": str(threads)} if threads else {}
        runner = RunnerProcess(framework, self.python_for(framework), self.logs_dir / f"{name}.log", env,
                               on_report=self._on_report, on_bad_report=self._on_bad_report,
                               on_exit=self._on_runner_exit)
        await runner.start()
        self.runners.add(runner)
        return runner

    def _tenant_row(self, group: Group, moved_from: int = None) -> dict:
        spec = group.spec
        return dict(group_id=group.id, model=spec.model, framework=spec.framework, resource=spec.resource,
                    batch=spec.batch, isolation=spec.isolation, threads=spec.threads, moved_from=moved_from,
                    started=self.now(), status=TenantState.STARTING, spec=spec.to_dict())

    async def _start_tenant(self, group: Group, moved_from: int = None, tid: int = None) -> Tenant:
        spec = group.spec
        if tid is None:
            tid = self.store.add_tenant(self.run_id, **self._tenant_row(group, moved_from))
        tenant = Tenant(tid, group, spec, spec.batch, moved_from=moved_from, started_t=self.now(),
                        log=WindowLog(tid, self.store, self.recent_windows))
        self.tenants[tid] = tenant
        group.tenants.append(tenant)
        if spec.isolation == "thread":
            # up to procs= runner processes; a new tenant goes to the one that hosted fewest
            live = [r for r in group.shared_runners if not r.exited.is_set()]
            if len(live) < (spec.procs or 1):
                runner = await self._new_runner(spec.framework, f"{group.label}-{spec.framework}-threads-t{tid}",
                                                spec.threads)
                live.append(runner)
            else:
                runner = min(live, key=lambda r: len(r.tenants))
            group.shared_runners = live
        else:
            runner = await self._new_runner(spec.framework, f"{group.label}-t{tid}", spec.threads)
        tenant.runner = runner
        runner.tenants.add(tid)
        self.store.update_tenant(tid, runner_pid=runner.pid)
        runner.send({"cmd": "start", "tenant": tid,
                     "spec": self.child_spec(spec, spec.batch, stream=len(group.tenants) - 1)})
        if group.paused:
            runner.send({"cmd": "pause", "tenant": tid})
        self._notify("tenant", tenant)
        return tenant

    async def _stop_tenants(self, tenants, timeout: float = None):
        timeout = self.stop_grace(len(tenants)) if timeout is None else timeout
        for t in tenants:
            t.runner.send({"cmd": "stop", "tenant": t.id})
            t.status = TenantState.STOPPING if t.active else t.status
        waits = [t.stopped.wait() for t in tenants]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout)
            except asyncio.TimeoutError:
                for t in tenants:
                    if not t.stopped.is_set():
                        t.runner.kill("tenant did not stop in time")
        for t in tenants:
            if t.status == TenantState.STOPPING:
                self._set_stopped(t)
            self._retire_runner_if_idle(t.runner)

    def _retire_runner_if_idle(self, runner: RunnerProcess):
        live = [tid for tid in runner.tenants if self.tenants[tid].status in ACTIVE + (TenantState.STOPPING,)]
        if not live:
            runner.send({"cmd": "stop"})
            for g in self.groups.values():
                if runner in g.shared_runners:
                    g.shared_runners.remove(runner)

    def _set_stopped(self, t: Tenant):
        t.status = TenantState.STOPPED
        t.ended_t = self.now()
        self.store.update_tenant(t.id, status=TenantState.STOPPED, ended=t.ended_t)
        t.stopped.set()
        self._notify("tenant", t)

    def _set_failed(self, t: Tenant, reason: str):
        if t.status in (TenantState.STOPPED, TenantState.FAILED):
            return
        t.status = TenantState.FAILED
        t.error = reason
        t.ended_t = self.now()
        self.store.update_tenant(t.id, status=TenantState.FAILED, error=reason, ended=t.ended_t)
        t.stopped.set()
        self._log_event("failed", t, {"group": t.group.id, "reason": reason})
        self._notify("tenant", t)
        if t.runner is not None:
            self._retire_runner_if_idle(t.runner)  # a runner left with no live tenant exits

    def _on_windows(self, runner: RunnerProcess, msg: dict):
        """A ``windows`` report: a reporter pass's windows, one row each (wire.py). Each is
        handled as a ``window`` report would be, with the per-row work kept small: at 2,000
        tenants this runs 2,000 times a second (issue 13)."""
        keys = msg.get("keys") or []
        rows = msg.get("rows") or []
        col = {k: i for i, k in enumerate(keys)}
        if "scheduled" in col:  # open-loop windows: their query fields by name
            for row in rows:
                self._on_report(runner, dict(zip(keys, row), ev="window"))
            return
        tenants, t0 = self.tenants, self.t0
        i_tenant, i_t0, i_t1, i_images, i_batches = (col["tenant"], col["t0"], col["t1"], col["images"],
                                                     col["batches"])
        i_batch, i_hist = col.get("batch"), col.get("hist")
        now = time.monotonic()
        last_t1 = runner.last_t1
        recorded = []  # to the Store in one call
        notify = self._notify if self._listeners else None
        # The windows of a pass share their edges (one grid): each edge is converted to the
        # run's clock once a pass, not once a window (round(x, 3) costs ~0.5 us).
        edges = {}
        for row in rows:
            try:
                t = tenants.get(row[i_tenant])
                if t is None:
                    continue
                raw0, raw1 = row[i_t0], row[i_t1]
                start = edges.get(raw0)
                if start is None:
                    start = edges[raw0] = round(raw0 - t0, 3)
                end = edges.get(raw1)
                if end is None:
                    end = edges[raw1] = round(raw1 - t0, 3)
                # The histogram as decoded, not a copy (compact_hist): one json.loads call
                # makes one string of each key, so the pass's windows already share them.
                w = Window(start, end, int(row[i_images]), int(row[i_batches]),
                           (row[i_hist] or {}) if i_hist is not None else {})
                t.log.append(w)
                t.settling = False
                if last_t1 is None or w.t_end > last_t1:
                    last_t1 = w.t_end
                t.last_seen, t.heard_why, t.heard_t = now, "its last window", w.t_end
                recorded.append((t.id, w.t_start, w.t_end, w.images, w.batches,
                                 int(row[i_batch]) if i_batch is not None else t.batch, w.hist))
                if notify is not None:
                    notify("window", (t, w))
            except Exception as exc:  # one bad row must not lose the rest of the pass
                self._on_bad_report(runner, dict(zip(keys, row), ev="window"), exc)
        self.store.add_windows(recorded)
        if recorded:  # its reporter is alive (windows of tenants it no longer has do not say so)
            runner.last_window = now
            runner.last_t1 = last_t1

    def _on_report(self, runner: RunnerProcess, msg: dict):
        ev = msg.get("ev")
        if ev == "windows":
            self._on_windows(runner, msg)
            return
        t = self.tenants.get(msg.get("tenant")) if msg.get("tenant") is not None else None
        if ev == "window" and t is not None:
            # Rounded to the millisecond: window edges are grid multiples of window_s.
            w = Window(round(msg["t0"] - self.t0, 3), round(msg["t1"] - self.t0, 3), int(msg["images"]),
                       int(msg["batches"]), compact_hist(msg.get("hist")), window_queries(msg))
            t.log.append(w)
            t.settling = False
            runner.last_window = time.monotonic()
            runner.last_t1 = w.t_end if runner.last_t1 is None else max(runner.last_t1, w.t_end)
            self._heard(t, "its last window", w.t_end)
            self.store.add_window(t.id, w.t_start, w.t_end, w.images, w.batches, int(msg.get("batch", t.batch)),
                                  w.hist, w.queries)
            self._notify("window", (t, w))
        elif ev == "hello":
            runner.hello = msg
            self._record_framework(runner.framework, msg, None)
        elif ev == "loaded" and t is not None:
            t.weights, t.runtime = msg.get("weights"), msg.get("runtime")
            self.store.update_tenant(t.id, weights=t.weights, runtime=t.runtime,
                                     images_skipped=msg.get("images_skipped"))
            self._record_framework(runner.framework, None, msg)
            self._log_event("loaded", t, {k: msg.get(k) for k in ("load_s", "weights", "note", "runtime",
                                                                   "images_used", "images_skipped", "precision",
                                                                   "provider", "engine_build_s", "engine_cache") if k in msg})
        elif ev == "warm" and t is not None:
            t.warm_t = self.now()
            self._heard(t, "its warm-up", msg["t"] - self.t0 if isinstance(msg.get("t"), (int, float)) else None)
            if t.status == TenantState.STARTING:
                t.status = TenantState.PAUSED if t.group.paused else TenantState.RUNNING
                self.store.update_tenant(t.id, status=t.status)
            runner.last_report = time.monotonic()
            self._notify("tenant", t)
        elif ev == "batch_clamped" and t is not None:
            t.batch = int(msg.get("used", t.batch))
            t.clamped = {k: msg.get(k) for k in ("asked", "used", "reason")}
            self.store.update_tenant(t.id, batch=t.batch)
            self._log_event("batch_clamped", t, {k: msg.get(k) for k in ("asked", "used", "reason")})
        elif ev == "failed":
            reason = msg.get("reason") or "unknown failure"
            if t is not None:
                self._set_failed(t, reason)
            else:
                for tid in list(runner.tenants):
                    self._set_failed(self.tenants[tid], reason)
        elif ev == "stopped" and t is not None:
            if t.status != TenantState.FAILED:
                self._set_stopped(t)
        elif ev == "log":
            self._log_event("log", t, {"message": msg.get("message")})

    def _record_framework(self, framework: str, hello: dict = None, loaded: dict = None):
        """Adds the versions a child reports (``hello``: python, framework_version, runtime,
        numpy, devices; ``loaded``: the library that ran a tenant) to the run's fingerprint,
        ``runs.host["frameworks"][framework]``."""
        fws = self._frameworks
        entry = fws.setdefault(framework, {})
        before = json.dumps(entry, sort_keys=True)
        if hello:
            entry.update({k: hello.get(k) for k in ("python", "framework_version", "runtime", "numpy",
                                                    "devices", "protocol") if k in hello})
        if loaded:
            if loaded.get("runtime") and loaded["runtime"] not in entry.setdefault("loaded_runtimes", []):
                entry["loaded_runtimes"].append(loaded["runtime"])
            for k in ("libedgetpu", "delegate"):
                if loaded.get(k):
                    entry[k] = loaded[k]
        if json.dumps(entry, sort_keys=True) != before:
            self.store.update_run_host(self.run_id, "frameworks", fws)

    def _on_bad_report(self, runner: RunnerProcess, msg: dict, exc: Exception):
        self._log_event("error", None, {"reason": f"bad report {msg.get('ev')}: {exc}"})

    def _on_runner_exit(self, runner: RunnerProcess):
        self.runners.discard(runner)
        rc = runner.returncode
        for tid in runner.tenants:
            t = self.tenants[tid]
            if not (t.active or t.status == TenantState.STOPPING):
                continue  # stopped or failed already: its record stands
            if t.status == TenantState.STOPPING or (runner.stopping and (t.status == TenantState.STARTING or t.healthy_at_stop)) \
                    or (runner.stop_sent and self._closed and rc == 0):
                # Asked to stop while still loading its model (a child importing its framework
                # cannot answer 'stop' yet), or healthy when the run ended but its runner was
                # slow to stop, or its runner exited cleanly when told to: it was stopped, it
                # did not fail. Only a tenant already hung when the run ended counts as failed.
                self._set_stopped(t)
            elif t.active:
                if runner.stopping:
                    why = (f"hung: no report for {t.silent_at_stop:.1f} s when the run ended "
                           f"(limit {self._hang_limit():.1f} s); {runner.killed_reason}")
                elif runner.killed_reason:
                    why = runner.killed_reason
                else:  # the signal or status with what it usually means (runners/exit_reasons.py)
                    why = exit_reason(runner.pid, rc, runner.log_lines(), runner.log_path)
                self._set_failed(t, why)

    def _heard(self, t: Tenant, why: str, at: float = None):
        """Notes that ``t`` was heard from (``at``: when, on the run's clock, if the child said)."""
        t.last_seen = time.monotonic()
        t.heard_why = why
        t.heard_t = self.now() if at is None else at

    async def _watch(self):
        """The watchdog of this run's runners and tenants (runners/runner_process.py)."""
        await watch(self.runners, self._running_tenants, self.window_s, self.hang_windows, self._flag_silent)

    def _running_tenants(self, runner: RunnerProcess) -> list:
        return [self.tenants[tid] for tid in runner.tenants if self.tenants[tid].status == TenantState.RUNNING]

    def _flag_silent(self, t: Tenant, quiet: float):
        """A running tenant of a live runner that sends no windows: failed, and stopped."""
        windows = quiet / self.window_s
        self._set_failed(t, f"silent: no window for {quiet:.1f} s ({windows:.0f} windows) since {t.heard_why}, "
                            "while its runner kept reporting; stopped")
        if t.runner is not None:
            t.runner.send({"cmd": "stop", "tenant": t.id})

    # -- aggregates (from running totals and the recent windows: nothing here scans a run) --
    def all_tenants(self) -> list:
        return list(self.tenants.values())

    def level_throughput(self, tenants, since: float = None, until: float = None) -> float:
        """Study's eq. (1) over the tenants' whole windows inside ``[since, until]``: images of
        every tenant in the interval all of them covered / that interval (tenants without a
        window there are left out; 0.0 if the others never overlap). Same figure as
        ``aggregate.level_throughput`` on ``windows_between``, from the running totals."""
        spans = []
        for t in tenants:
            _, _, first, last = t.totals(since, until)
            if first is not None:
                spans.append((t, first, last))
        if not spans:
            return 0.0
        start = max(f for _, f, _ in spans)
        end = min(e for _, _, e in spans)
        if end - start <= 1e-6:
            return 0.0
        return sum(t.totals(start, end)[0] for t, _, _ in spans) / (end - start)

    def group_throughput(self, group: Group, last: int = None) -> float:
        tenants = [t for t in group.tenants if t.n_windows and (t.active or last is None)]
        if last:
            since = max((t.last_window.t_end for t in tenants), default=0) - last * self.window_s - 1e-6
            return self.level_throughput([t for t in tenants if t.active], since)
        return self.level_throughput(tenants)

    def placement_throughputs(self, last: int = None) -> dict:
        out = {}
        for t in self.tenants.values():
            out.setdefault(t.spec.placement, []).append(t)
        since = None
        if last:
            since = self.now() - (last + 1) * self.window_s
        return {p: self.level_throughput([t for t in ts if t.n_windows], since) for p, ts in out.items()}

    def slot_totals(self, since: float = None) -> list:
        """[(t_start, t_end, images)] of the recent grid slots every running tenant reported."""
        per = {t.id: [w for w in t.recent if since is None or w.t_start >= since - 1e-3]
               for t in self.tenants.values() if t.status == TenantState.RUNNING}
        return aggregate.slot_totals(per)

    def is_steady(self, min_batches: int = 30, windows: int = 3, tolerance: float = 0.10) -> bool:
        running = [t for t in self.tenants.values() if t.status == TenantState.RUNNING]
        per = {t.id: list(t.recent) for t in running}
        return aggregate.is_steady(per, {t.id: t.batches for t in running}, min_batches, windows, tolerance)
