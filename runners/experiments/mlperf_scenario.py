"""An MLPerf Inference scenario run on one tenant: runners/mlperf.py's rules applied to its windows.

As MLPerf's LoadGen issues the scenarios:

- SingleStream, MultiStream, Offline run closed-loop. SingleStream issues one sample a
  query and the next query when the last completes (batch 1); MultiStream 8 samples a
  query (batch 8); Offline every sample at once, which a tenant running batches back to
  back (at its SPEC's batch) works through. One measured phase of the minimum duration
  and one window more (rounded up to whole windows), longer (whole windows) until the
  minimum queries (Offline: samples) are done, is the performance phase.
- Server runs open-loop (docs/experiments.md, "Open loop") on LoadGen's own Poisson
  schedule: ``mlperf.poisson_schedule_ns`` at the target rate, handed to the tenant as a
  trace of inter-arrival times (``arrival=trace:FILE``) that ends with a gap no run
  reaches, with ``slo=`` at the latency bound (the child counts the queries within it
  exactly) and a queue that holds every query. The performance phase ends when every
  scheduled query completed.

The phase's windows give the query and sample counts, the latency histogram and the
energy, and ``mlperf.evaluate_binned`` the figures and the verdict (docs/experiments.md,
"MLPerf scenarios"). The result is one ``results`` row (experiment ``mlperf``).
"""
import asyncio

from runners import mlperf, paths
from runners.child import latency
from runners.errors import BadInput
from runners.experiments.common import Context, Stopped
from runners.measure import in_phase, measure
from storage import energy
from storage import queries as query_counts

EXPERIMENT = "mlperf"
CLOSED_LOOP = (mlperf.SINGLE_STREAM, mlperf.MULTI_STREAM, mlperf.OFFLINE)
# The gap after Server's last scheduled query: longer than any run, so no query follows it.
NEVER_S = 1e7
POWER_NOTE = ("power from the board's own sensors (INA219, jtop, NVML) over exactly the performance phase; "
              "not MLPerf's wall-power measurement")


def batch_of(scenario: str, spec) -> int:
    """The batch a scenario's tenant runs: a query's samples (Offline: the SPEC's batch)."""
    return {mlperf.SINGLE_STREAM: 1, mlperf.MULTI_STREAM: mlperf.MULTI_STREAM_SAMPLES_PER_QUERY}.get(scenario, spec.batch)


async def run(ctx: Context, spec, scenario: str, quick: bool = False, expected_qps: float = None,
              latency_bound_ms: float = None, target_qps: float = None, seed: int = mlperf.RULE_SCHEDULE_SEED,
              rules: mlperf.Rules = None) -> dict:
    """Runs ``scenario`` on one tenant of ``spec``; returns (and records) the result.

    Server needs ``latency_bound_ms`` and ``target_qps``. ``rules`` replaces the scenario's
    (the tests scale them down further than ``quick``)."""
    if scenario not in mlperf.SCENARIOS:
        raise BadInput(f"--scenario {scenario}: one of {', '.join(mlperf.SCENARIOS)}")
    rules = rules or mlperf.rules_for(scenario, latency_bound_ms=latency_bound_ms, quick=quick,
                                      offline_expected_qps=expected_qps or 1.0)
    try:
        if scenario == mlperf.SERVER:
            return await _server(ctx, spec, rules, target_qps, seed, quick)
        return await _closed_loop(ctx, spec, rules, quick)
    except Stopped:
        # Ctrl-C: no result (MLPerf has none for a cut run); the run is marked interrupted
        return {"ok": False, "scenario": scenario, "ended_by": "stopped", "reason": "stopped before the end"}


async def _closed_loop(ctx: Context, spec, rules: mlperf.Rules, quick: bool) -> dict:
    scenario = rules.scenario
    batch = batch_of(scenario, spec)
    tenant_spec = spec.with_changes(count=1, batch=batch)
    key = {"kind": "summary", "scenario": scenario, "model": spec.model, "placement": spec.placement,
           "batch": batch, "quick": quick}
    ctx.say(f"{scenario}: starting {tenant_spec.model} on {tenant_spec.placement}, batch {batch}")
    group = await ctx.sup.add_group(tenant_spec)
    tenant = group.active[0]
    # One window past the minimum, so that the last query is issued after it (LoadGen, too,
    # issues queries until one starts at or after the minimum duration).
    phase_s = rules.min_duration_s + ctx.sup.window_s
    ctx.say(f"{scenario}: performance phase of {phase_s:g} s")
    m = await measure(ctx.sup, [tenant], duration=phase_s, max_s=phase_s * 2 + 60, stop=ctx.stop)
    if tenant.status == "failed":
        out = {"ok": False, "scenario": scenario, "reason": f"tenant {tenant.id} failed: {tenant.error}"}
        ctx.record(key, out)
        return out
    if m.reason == "stopped" or (ctx.stop is not None and ctx.stop.is_set()):
        raise Stopped()
    windows = in_phase(tenant, m.since, m.until)
    # LoadGen issues queries until both minimums are met: a slow model runs on, whole
    # windows, until it has the minimum queries (Offline: samples), or twice the phase.
    offline = scenario == mlperf.OFFLINE
    need = rules.min_sample_count if offline else rules.min_query_count
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 2 * phase_s + 60.0
    while (sum(w.images if offline else w.batches for w in windows) < need and tenant.status != "failed"
           and loop.time() < give_up):
        ctx.check_stop()
        ctx.say(f"{scenario}: on to the minimum of {need} {'samples' if offline else 'queries'}")
        await asyncio.sleep(0.5)
        windows = in_phase(tenant, m.since)
    if tenant.status == "failed":
        out = {"ok": False, "scenario": scenario, "reason": f"tenant {tenant.id} failed: {tenant.error}"}
        ctx.record(key, out)
        return out
    since, until = m.since, windows[-1].t_end if windows else m.until
    out = result_of(rules, windows, since, until, batch)
    out.update({"model": spec.model, "placement": spec.placement, "tenant": tenant.id},
               **power_over(ctx, since, until))
    ctx.record(key, out)
    await ctx.sup.remove(group.id)
    return out


def power_over(ctx: Context, since: float, until: float) -> dict:
    """The board's power over exactly the performance phase (storage/energy.py: the trapezoid
    rule over the ``power_w`` samples, the edges interpolated), or nulls where none was sampled."""
    integral = energy.integrate(energy.series(ctx.store.samples_around(ctx.run_id, since, until), energy.BOARD),
                                since, until)
    if integral.energy_j is None:
        return {"power_w": None, "energy_j": None, "power_coverage": None, "power_note": None}
    return {"power_w": round(integral.mean_w, 4), "energy_j": round(integral.energy_j, 3),
            "power_coverage": round(integral.coverage, 4), "power_note": POWER_NOTE}


def result_of(rules: mlperf.Rules, windows, since: float, until: float, batch: int) -> dict:
    """The scenario's result (JSON-able) from a closed-loop tenant's windows of ``[since, until]``.

    A batch is a query; its latency (the window histograms) is each of its samples'.
    The minimum-duration rule judges when the last query was issued: at the latest the
    span's end less that query's latency, taken as the longest latency's bucket edge, so
    the rule is never judged met when it was not.
    """
    hist, queries, samples = {}, 0, 0
    for w in windows:
        latency.merge(hist, w.hist or {})
        queries += w.batches
        samples += w.images
    span = until - since
    out = {"ok": True, "scenario": rules.scenario, "span": [round(since, 3), round(until, 3)],
           "measured_s": round(span, 3), "batch": batch,
           "rules": {"min_duration_s": rules.min_duration_s, "min_query_count": rules.min_query_count,
                     "min_sample_count": rules.min_sample_count, "percentile": rules.percentile,
                     "comparable": rules.comparable}}
    if not queries:
        out.update({"valid": False, "reasons": ["no query completed in the performance phase"],
                    "queries": 0, "samples": 0})
        return out
    longest = max(int(k) for k in hist) if hist else 0
    sample_hist = {k: v * batch for k, v in hist.items()}  # every sample of a batch has its latency
    if rules.scenario == mlperf.OFFLINE:
        # One query of every sample: its duration is the span (the last sample done at its end).
        result = mlperf.evaluate_binned(rules, sample_hist, 1, span)
    else:
        issued_by = span - latency.upper_edge(longest)
        result = mlperf.evaluate_binned(rules, sample_hist, queries, issued_by,
                                        query_hist=hist if rules.scenario == mlperf.MULTI_STREAM else None)
    out.update({
        "valid": result.valid, "reasons": result.reasons, "comparable": result.comparable,
        "queries": queries, "samples": samples,
        "min_duration_met": result.min_duration_met, "min_queries_met": result.min_queries_met,
        "early_stopping_met": result.early_stopping_met,
        "percentile_ms": _ms(result.percentile_latency_ns),
        "early_stopping_ms": _ms(result.early_stopping.estimate_ns) if result.early_stopping else None,
        "early_stopping_discarded": result.early_stopping.discarded if result.early_stopping else None,
        "early_stopping_p99_ms": _ms(result.early_stopping_99.estimate_ns) if result.early_stopping_99 else None,
        "samples_per_s": round(samples / span, 4) if span > 0 else None,
    })
    return out


def _ms(ns):
    return None if ns is None else round(ns / 1e6, 3)


async def _server(ctx: Context, spec, rules: mlperf.Rules, target_qps: float, seed: int, quick: bool) -> dict:
    arrivals, _ = mlperf.poisson_schedule_ns(target_qps, rules.min_duration_s, rules.min_query_count, seed=seed)
    n = len(arrivals)
    folder = paths.data_dir() / "mlperf"
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / f"run{ctx.run_id}-server-schedule.txt"
    gaps = [(b - a) / 1e9 for a, b in zip(arrivals, arrivals[1:])] + [NEVER_S]
    trace.write_text("# MLPerf Server schedule: %d queries at %g/s, seed %d (LoadGen's)\n" % (n, target_qps, seed)
                     + "".join("%.9f\n" % g for g in gaps))
    bound_ms = rules.latency_bound_ns / 1e6
    tenant_spec = spec.with_changes(count=1, batch=1, arrival="trace", trace=str(trace.absolute()),
                                    rate=n / sum(gaps), queue=n, slo_ms=bound_ms, slo_pct=rules.percentile * 100)
    key = {"kind": "summary", "scenario": mlperf.SERVER, "model": spec.model, "placement": spec.placement,
           "batch": 1, "quick": quick, "target_qps": target_qps, "latency_bound_ms": bound_ms}
    ctx.say(f"server: starting {tenant_spec.model} on {tenant_spec.placement}: {n} queries at {target_qps:g}/s")
    group = await ctx.sup.add_group(tenant_spec)
    tenant = group.active[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 600.0 + 3 * arrivals[-1] / 1e9  # warm-up, the schedule, a backlog
    # Idle this long after the schedule began (no query scheduled, started or waiting) means
    # it is over, even if fewer than n queries were counted (the verdict then says so).
    idle_s = 3.0 + 20.0 / target_qps
    windows, seen_until, ended, tot, last_busy = [], None, 0, None, None
    while True:
        # the windows come in order: read only those after the last one seen
        fresh = [w for w in in_phase(tenant, seen_until) if w.queries is not None
                 and (seen_until is None or w.t_start >= seen_until - 1e-6)]
        if fresh:
            windows += fresh
            seen_until = fresh[-1].t_end
            tot = query_counts.totals(windows)
            ended = tot["completed"] + tot["dropped"]
            for w in fresh:
                q = w.queries
                if q["scheduled"] or q["started"] or q["completed"] or q["queue"]:
                    last_busy = w.t_end
        over = last_busy is not None and seen_until - last_busy > idle_s
        if ended >= n or over or tenant.status == "failed" or loop.time() > deadline:
            break
        ctx.check_stop()
        await asyncio.sleep(0.2)
    if tenant.status == "failed":
        out = {"ok": False, "scenario": mlperf.SERVER, "reason": f"tenant {tenant.id} failed: {tenant.error}"}
        ctx.record(key, out)
        return out
    if tot is None:
        out = {"ok": False, "scenario": mlperf.SERVER, "reason": "no window came from the tenant"}
        ctx.record(key, out)
        return out
    since, until = windows[0].t_start, windows[-1].t_end
    out = {"ok": True, "scenario": mlperf.SERVER, "span": [round(since, 3), round(until, 3)],
           "measured_s": round(until - since, 3), "batch": 1, "target_qps": target_qps, "seed": seed,
           "latency_bound_ms": bound_ms,
           "rules": {"min_duration_s": rules.min_duration_s, "min_query_count": rules.min_query_count,
                     "percentile": rules.percentile, "comparable": rules.comparable},
           "queries": n, "completed": tot["completed"], "dropped": tot["dropped"], "within": tot["within"]}
    if ended != n or tot["scheduled"] != n:
        out.update({"valid": False, "reasons": [f"the run counted {tot['scheduled']} queries scheduled and {ended} "
                                                f"ended of the schedule's {n}"]})
    else:
        result = mlperf.evaluate_binned(rules, tot["qhist"], n, arrivals[-1] / 1e9, dropped=tot["dropped"],
                                        within=tot["within"] or 0)
        out.update({
            "valid": result.valid, "reasons": result.reasons, "comparable": result.comparable,
            "min_duration_met": result.min_duration_met, "min_queries_met": result.min_queries_met,
            "latency_bound_met": result.latency_bound_met, "early_stopping_met": result.early_stopping_met,
            "percentile_ms": None if result.percentile_latency_ns == float("inf") else _ms(result.percentile_latency_ns),
            "overlatency": result.server.overlatency, "early_stopping_more_needed": result.server.more_needed,
            "scheduled_qps": round(result.scheduled_qps, 4) if result.scheduled_qps else None,
        })
    out.update({"model": spec.model, "placement": spec.placement, "tenant": tenant.id},
               **power_over(ctx, since, until))
    ctx.record(key, out)
    await ctx.sup.remove(group.id)
    return out
