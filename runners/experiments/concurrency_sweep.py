"""CME sweep: raise one group's concurrency level until a tenant fails or ``max_level``.

The order of levels comes from a strategy in ``search.py`` (linear | doubling | search).
``warm=True`` keeps the running tenants between levels (step up or down); ``warm=False``
starts every level with fresh tenants. Each level is a ``results`` row
(experiment ``sweep-concurrency``, key {kind: level, model, placement, batch, isolation,
concurrency}); the summary row (key kind: summary) holds the maximum level, the best
level, the gain over single tenancy and why the sweep ended.
"""
from runners.experiments import search
from runners.experiments.common import Context, gain, level_key, measure_level, reconfigure, search_levels

EXPERIMENT = "sweep-concurrency"


async def run(ctx: Context, spec, max_level: int = 64, strategy: str = "linear", warm: bool = False) -> dict:
    state = {"group": None}
    levels = {}

    async def measure(level: int) -> dict:
        if levels and ctx.cooldown and state["group"] is not None:
            await ctx.cool([state["group"]])
        ctx.say(f"level {level}: starting {'(warm)' if warm and state['group'] else '(fresh)'}")
        started_warm = bool(warm and state["group"] is not None and state["group"].count > 0)
        group = await reconfigure(ctx, state["group"], spec, level, warm=warm)
        state["group"] = group
        tenants = list(group.active)
        r = await measure_level(ctx, tenants, label=f"level {level}")
        r.update({"batch": r.get("batch_run", spec.batch), "isolation": spec.isolation, "warm_start": started_warm,
                  "tenants": [t.id for t in tenants]})
        if not r["ok"]:
            # the failed group is useless for the next level: start afresh
            await ctx.sup.remove(group.id)
            state["group"] = None
        return r

    answer = await search_levels(
        ctx, search.strategy(strategy, max_level), levels,
        key_of=lambda level: level_key(spec, batch=spec.batch, isolation=spec.isolation, concurrency=level),
        label_of=lambda level: f"level {level}", measure=measure,
        outcome=lambda r: "%.1f img/s" % r["throughput"] if r["ok"] else "failed")
    if answer is None:
        reason = "stopped"
    else:
        reason = "a level failed" if answer["first_failed_level"] else "reached --max"
    summary = summarize(levels, spec, max_level, strategy, warm, reason)
    ctx.record({"kind": "summary", "model": spec.model, "placement": spec.placement, "batch": spec.batch,
                "isolation": spec.isolation}, summary)
    return summary


def summarize(levels: dict, spec, max_level: int, strategy: str, warm: bool, reason: str) -> dict:
    ok = {lvl: r for lvl, r in levels.items() if r.get("ok")}
    failed = sorted(lvl for lvl, r in levels.items() if not r.get("ok"))
    max_ok = 0
    if ok:
        # the highest level that ran below the first level that failed (monotone failures)
        limit = failed[0] if failed else float("inf")
        max_ok = max((lvl for lvl in ok if lvl < limit), default=0)
    best = max(ok, key=lambda lvl: ok[lvl]["throughput"]) if ok else None
    return {
        "model": spec.model, "placement": spec.placement, "batch": spec.batch, "isolation": spec.isolation,
        "strategy": strategy, "max": max_level, "warm_start": warm, "ended_by": reason,
        "max_level": max_ok, "first_failed_level": failed[0] if failed else None,
        "failed_reason": levels[failed[0]].get("reason") if failed else None,
        "best_level": best, "best_throughput": ok[best]["throughput"] if best else None,
        "single_tenancy": ok[1]["throughput"] if 1 in ok else None,
        "gain": gain(levels, best) if best else None,
        "levels_measured": len(levels),
        "levels": {str(lvl): {k: levels[lvl].get(k) for k in ("ok", "throughput", "std", "p99_ms", "throttled",
                                                              "resources", "joules_per_inference", "reason",
                                                              "steady", "measured_s", "images", "ramp_throughput", "oversubscription",
                                                              "warm_start")}
                   for lvl in sorted(levels)},
        "throttled_levels": [lvl for lvl in sorted(ok) if ok[lvl].get("throttled")],
        "oversubscribed_levels": [lvl for lvl in sorted(ok) if ok[lvl].get("oversubscription")],
        "advice": next((levels[lvl]["advice"] for lvl in sorted(levels) if levels[lvl].get("advice")), None),
    }
