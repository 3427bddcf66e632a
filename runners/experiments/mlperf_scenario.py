"""An MLPerf Inference scenario run on one tenant: runners/mlperf.py's rules applied to its windows.

The tenant runs closed-loop, as MLPerf's LoadGen issues these scenarios: SingleStream
issues one sample a query and the next query when the last completes (batch 1);
MultiStream 8 samples a query (batch 8), the next when the last completes; Offline issues
every sample at once, which a tenant running batches back to back (at its SPEC's batch)
works through. (Server needs open-loop arrivals: not run here yet.) One measured phase of
the scenario's minimum duration and one window more (rounded up to whole windows) is the
performance phase;
its windows give the query and sample counts, the latency histogram and the energy, and
``mlperf.evaluate_binned`` the figures and the verdict (docs/experiments.md, "MLPerf
scenarios"). The result is one ``results`` row (experiment ``mlperf``).
"""
from runners import mlperf
from runners.child import latency
from runners.errors import BadInput
from runners.experiments.common import Context, Stopped, resource_means
from runners.measure import in_phase, measure

EXPERIMENT = "mlperf"
CLOSED_LOOP = (mlperf.SINGLE_STREAM, mlperf.MULTI_STREAM, mlperf.OFFLINE)
POWER_NOTE = ("power from the board's own sensors (INA219, jtop, NVML) over exactly the performance phase; "
              "not MLPerf's wall-power measurement")


def batch_of(scenario: str, spec) -> int:
    """The batch a scenario's tenant runs: a query's samples (Offline: the SPEC's batch)."""
    return {mlperf.SINGLE_STREAM: 1, mlperf.MULTI_STREAM: mlperf.MULTI_STREAM_SAMPLES_PER_QUERY}.get(scenario, spec.batch)


async def run(ctx: Context, spec, scenario: str, quick: bool = False, expected_qps: float = None,
              rules: mlperf.Rules = None) -> dict:
    """Runs ``scenario`` on one tenant of ``spec``; returns (and records) the result.

    ``rules`` replaces the scenario's (the tests scale them down further than ``quick``)."""
    if scenario not in CLOSED_LOOP:
        raise BadInput(f"--scenario {scenario}: runs here are {', '.join(CLOSED_LOOP)} (server needs open-loop arrivals)")
    rules = rules or mlperf.rules_for(scenario, quick=quick, offline_expected_qps=expected_qps or 1.0)
    batch = batch_of(scenario, spec)
    tenant_spec = spec.with_changes(count=1, batch=batch)
    key = {"kind": "scenario", "scenario": scenario, "model": spec.model, "placement": spec.placement,
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
    out = result_of(rules, windows, m.since, m.until, batch)
    power = resource_means(ctx.store, ctx.run_id, m.since, m.until)["means"].get("power_w")
    out.update({"model": spec.model, "placement": spec.placement, "tenant": tenant.id,
                "power_w": power, "energy_j": round(power * (m.until - m.since), 3) if power else None,
                "power_note": POWER_NOTE if power else None})
    ctx.record(key, out)
    return out


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
