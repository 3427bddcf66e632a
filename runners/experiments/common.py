"""What every experiment shares: measuring one level on the Supervisor, resources, results.

A *level* is a set of tenants measured together. ``measure_level`` waits for their warm-up,
measures ``repeat`` consecutive phases (the steady-state rule, or a fixed duration), and
returns one JSON-able dict: throughput (mean and std over the trials; per trial the images
of every tenant in the trial's span / that span: the steady windows when the steady-state
rule ended it, the ramp before them reported apart as ``ramp``), p50/p99 latency, the mean
of every sampled resource over the same spans (from the run's ``samples`` rows), the
throttling flag, joules per inference where power was sampled, and ``ok`` = no tenant
failed and every tenant completed a batch. A failed tenant makes the level fail with its
reason: an answer, not a crash.
"""
import asyncio
import json
import math
import statistics
from dataclasses import dataclass, field

from runners import threads
from runners.child import latency
from runners.measure import in_phase, measure
from storage import aggregate, reads

class Stopped(Exception):
    """The user stopped the experiment (Ctrl-C); what was measured is kept."""


@dataclass
class Context:
    """One experiment's run: the session's supervisor and store, and the measuring options."""

    sup: object
    store: object
    run_id: int
    experiment: str
    duration: float = None  # None: the steady-state rule
    max_s: float = 120.0
    min_batches: int = 30
    repeat: int = 1
    cooldown: float = 0.0
    stop: asyncio.Event = None
    progress: object = None  # callable(description: str, advance: float)
    cache: dict = field(default_factory=dict)  # key JSON -> value, from a resumed run
    resumed_from: int = None
    cores: int = None  # CPU cores the tenants share (None: this machine's, runners/threads.py)

    def say(self, text: str, advance: float = 0.0):
        if self.progress is not None:
            try:
                self.progress(text, advance)
            except Exception:
                pass

    def check_stop(self):
        if self.stop is not None and self.stop.is_set():
            raise Stopped()

    def record(self, key: dict, value: dict):
        self.store.add_result(self.run_id, self.experiment, key, value)

    def cached(self, key: dict):
        """A level measured by the run being resumed: copied into this run and returned."""
        k = json.dumps(key, sort_keys=True)
        if k in self.cache:
            value = dict(self.cache[k])
            value["resumed_from"] = self.resumed_from
            self.record(key, value)
            return value
        return None

    async def cool(self, groups=()):
        """Pauses the given groups for ``cooldown`` seconds (a board cools only when idle)."""
        if not self.cooldown:
            return
        for g in groups:
            await self.sup.pause(g.id)
        self.say(f"cooling down {self.cooldown:g} s")
        end = asyncio.get_running_loop().time() + self.cooldown
        while asyncio.get_running_loop().time() < end:
            self.check_stop()
            await asyncio.sleep(0.1)
        for g in groups:
            await self.sup.resume(g.id)


def load_cache(conn, run_id: int, experiment: str) -> dict:
    """Results of ``run_id`` for ``experiment`` (key JSON -> value), for --resume."""
    return {json.dumps(r["key"], sort_keys=True): r["value"] for r in reads.results(conn, run_id, experiment)
            if r["key"].get("kind") != "summary"}


def resource_means(store, run_id: int, since, until: float = None) -> dict:
    """Time-weighted mean of every sampled metric over ``[since, until]`` (or over the
    spans of a list ``since`` of (since, until) pairs), each sample weighing by the part of the interval it describes inside a
    span (``aggregate.sample_means``); ``throttled`` when any ``*throttled`` metric read 1 there."""
    spans = [(since, until)] if until is not None else list(since)
    weighted, samples, peaks = {}, 0, {}
    for since, until in spans:
        # the sample just after the span describes part of it; the one before it opens its interval
        rows = store.samples_around(run_id, since, until)
        r = aggregate.sample_means(rows, since, until)
        samples += r["samples"]
        for k, v in r["means"].items():
            weighted.setdefault(k, []).append((v, until - since))
        for k, v in r["peaks"].items():
            peaks[k] = max(peaks.get(k, v), v)
    means = {k: round(sum(v * w for v, w in vw) / sum(w for _, w in vw), 4) for k, vw in weighted.items()}
    throttled = any(peaks[k] >= 1 for k in peaks if k.endswith("throttled"))
    return {"means": means, "samples": samples, "throttled": throttled}


def _p(hist, q):
    v = latency.percentile(hist, q)
    return None if v is None or math.isinf(v) else round(v * 1000.0, 3)


def part_throughput(per: dict, ids, span) -> float:
    """Images of the tenants ``ids`` completed inside ``span`` / its length (one placement's share)."""
    if not span:
        return 0.0
    s, e = span
    images = sum(w.images for tid in ids for w in per.get(tid, ()) if w.t_start >= s - 1e-6 and w.t_end <= e + 1e-6)
    return images / (e - s)


async def measure_level(ctx: Context, tenants: list, label: str = "", parts: dict = None) -> dict:
    """Measures ``tenants`` together ``ctx.repeat`` times; see the module's docstring.

    ``parts`` (name -> tenants) adds each part's throughput over the same common span."""
    trials, spans = [], []
    hist = {}
    # said on every answer, a failed level's too: oversubscription may be why it failed
    over = threads.oversubscription(tenants, ctx.cores)
    said = {"oversubscription": over["message"], "advice": over["advice"]} if over else {"oversubscription": None}
    for i in range(ctx.repeat):
        ctx.check_stop()
        ctx.say(f"{label} trial {i + 1}/{ctx.repeat}" if ctx.repeat > 1 else label)
        m = await measure(ctx.sup, tenants, duration=ctx.duration, max_s=ctx.max_s, min_batches=ctx.min_batches,
                          stop=ctx.stop)
        failed = [t for t in tenants if t.status == "failed"]
        if failed:
            return {"ok": False, "reason": f"tenant {failed[0].id} failed: {failed[0].error}",
                    "failed_tenants": [t.id for t in failed], "concurrency": len(tenants),
                    "trials": trials, **said}
        if m.reason == "stopped" or (ctx.stop is not None and ctx.stop.is_set()):
            raise Stopped()
        # one span for every figure of the trial: m.since..m.until (runners/measure.py)
        span = (m.since, m.until)
        per = {t.id: in_phase(t, m.since, m.until) for t in tenants}
        idle = [t for t in tenants if aggregate.batches_in(per[t.id], span) == 0]
        if idle:  # no completed batch = not runnable (a level is not measured by a silent tenant)
            names = ", ".join(str(t.id) for t in idle)
            return {"ok": False, "reason": f"no batch completed by tenant {names} in the measured phase "
                                           f"({m.until - m.since:.3g} s): not runnable here; a longer --duration "
                                           f"or a smaller batch may run",
                    "failed_tenants": [t.id for t in idle], "concurrency": len(tenants), "trials": trials,
                    "no_batch": True, **said}
        tp = aggregate.images_in(per, span) / (m.until - m.since)
        for ws in per.values():
            for w in ws:
                latency.merge(hist, w.hist or {})
        trial = {"throughput": round(tp, 4), "since": round(m.since, 3), "until": round(m.until, 3),
                 "images": aggregate.images_in(per, span), "steady": m.steady, "stopped_by": m.reason,
                 "span": [round(m.since, 3), round(m.until, 3)]}
        if m.ramp:
            trial["ramp"] = aggregate.ramp_summary({t.id: in_phase(t, *m.ramp) for t in tenants}, m.ramp)
        if parts:
            trial["parts"] = {name: round(part_throughput(per, [t.id for t in ts], span), 4)
                              for name, ts in parts.items()}
        trials.append(trial)
        spans.append(span)
    tps = [t["throughput"] for t in trials]
    # resources over the trials' spans (the same spans as the throughput)
    res = resource_means(ctx.store, ctx.run_id, spans)
    mean = statistics.fmean(tps)
    power = res["means"].get("power_w")
    ramps = [t["ramp"] for t in trials if t.get("ramp")]
    out = {
        "ok": True, "concurrency": len(tenants), "throughput": round(mean, 4),
        "std": round(statistics.stdev(tps), 4) if len(tps) > 1 else 0.0, "trials": trials,
        "p50_ms": _p(hist, 50), "p99_ms": _p(hist, 99), "resources": res["means"], "samples": res["samples"],
        "throttled": res["throttled"], "power_w": power,
        "joules_per_inference": round(power / mean, 6) if power and mean > 0 else None,
        "since": round(min(s for s, _ in spans), 3), "until": round(max(e for _, e in spans), 3),
        "measured_s": round(sum(e - s for s, e in spans), 3), "images": sum(t["images"] for t in trials),
        "steady": all(t["steady"] for t in trials),
        "ramp_throughput": round(statistics.fmean(r["throughput"] for r in ramps), 4) if ramps else None,
    }
    # The batch that ran (a backend may clamp the one asked for: EdgeTPU, fixed-batch models).
    out["batch_run"] = max(t.batch for t in tenants) if tenants else None
    clamps = [t.clamped for t in tenants if getattr(t, "clamped", None)]
    if clamps:
        c = clamps[0]
        out["clamped"] = f"batch {c['asked']} ran as batch {c['used']}: {c['reason']}"
    out.update(said)
    if parts:
        out["parts"] = {name: round(statistics.fmean(t["parts"][name] for t in trials), 4) for name in parts}
    return out


async def start_group(ctx: Context, spec, count: int):
    """A new group of ``count`` tenants of ``spec``."""
    return await ctx.sup.add_group(spec.with_changes(count=count))


async def reconfigure(ctx: Context, group, spec, count: int, batch: int = None, isolation: str = None,
                      warm: bool = True):
    """Brings ``group`` (or None) to ``count`` tenants of ``spec`` at ``batch`` and ``isolation``.

    Warm: keeps the running tenants (``step`` up or down) when the isolation and batch are
    unchanged and no tenant of the group failed; otherwise (or ``warm=False``)
    the group is removed and a fresh one started. Returns the group to measure.
    """
    batch = batch or spec.batch
    isolation = isolation or spec.isolation
    # A batch change restarts the group: in place (set_batch), a child re-preparing its
    # batches on a loaded board can stay silent past the Supervisor's hang watchdog
    # (3 windows) and be killed as hung, which a sweep would misread as a failed batch.
    reuse = (warm and group is not None and group.id in ctx.sup.groups and group.spec.isolation == isolation
             and group.spec.batch == batch and not any(t.status == "failed" for t in group.tenants)
             and group.count > 0)
    if not reuse:
        if group is not None and group.id in ctx.sup.groups:
            await ctx.sup.remove(group.id)
        return await ctx.sup.add_group(spec.with_changes(count=count, batch=batch, isolation=isolation))
    if count != group.count:
        await ctx.sup.step(group.id, count - group.count)
    return group


async def search_levels(ctx: Context, gen, levels: dict, key_of, label_of, measure, outcome):
    """Drives a search over levels (a generator of search.py) on the Supervisor: each level
    it asks for is the result the run being resumed holds for ``key_of(level)``, else
    ``await measure(level)`` recorded under that key; either way kept in ``levels`` and said
    on the progress line as ``label_of(level)`` and the result (``outcome(r)`` once measured).
    Returns the search's answer, None when the user stopped it (what was measured is kept)."""
    from runners.experiments import search

    async def measure_at(level: int) -> dict:
        key, label = key_of(level), label_of(level)
        r = ctx.cached(key)
        if r is not None:
            ctx.say(f"{label}: from run {ctx.resumed_from}", 1)
        else:
            ctx.check_stop()
            r = await measure(level)
            ctx.record(key, r)
            ctx.say(f"{label}: {outcome(r)}", 1)
        levels[level] = r
        return r

    try:
        return await search.adrive(gen, measure_at)
    except Stopped:
        return None


def level_key(spec, **extra) -> dict:
    key = {"kind": "level", "model": spec.model, "placement": spec.placement}
    key.update(extra)
    return key


def gain(levels: dict, level) -> float:
    """Throughput at ``level`` over single tenancy (level 1) of the same sweep."""
    one = levels.get(1)
    if not one or not one.get("ok") or not one.get("throughput") or level not in levels:
        return None
    return round(levels[level]["throughput"] / one["throughput"], 4)
