"""Tuner: concurrency x batch x isolation that maximises throughput (or throughput per
watt, or with ``objective="slo"`` the streams within the SPEC's SLO: each tenant a stream
at its rate=, a configuration scoring its streams when they meet the SLO, ties going to
the higher goodput) under an optional p99 latency limit, with the guided search of ``search.tune``
(or every configuration with ``full_grid``, which is how grids are recorded).

Each configuration is one group reconfigured in place where it can be (same isolation:
``set_batch`` and ``step``), else restarted. Each is a ``results`` row (experiment
``tune``, key {kind: config, model, placement, concurrency, batch, isolation}); the
summary says the best configuration, how many were measured and the grid's size.
"""
from runners.experiments import search
from runners.experiments.common import Context, Stopped, measure_level, reconfigure

EXPERIMENT = "tune"


def axes_for(max_level: int, batches, isolations) -> dict:
    return {"concurrency": list(range(1, max_level + 1)), "batch": list(batches), "isolation": list(isolations)}


async def run(ctx: Context, spec, axes: dict, objective: str = "throughput", p99_ms: float = None,
              budget: int = None, full_grid: bool = False) -> dict:
    state = {"group": None}
    measured = []

    async def measure_at(cfg: dict) -> dict:
        key = {"kind": "config", "model": spec.model, "placement": spec.placement, **cfg}
        r = ctx.cached(key)
        if r is None:
            ctx.check_stop()
            label = f"c={cfg['concurrency']} b={cfg['batch']} {cfg['isolation']}"
            ctx.say(label)
            group = await reconfigure(ctx, state["group"], spec, cfg["concurrency"], batch=cfg["batch"],
                                      isolation=cfg["isolation"], warm=True)
            state["group"] = group
            tenants = list(group.active)
            r = await measure_level(ctx, tenants, label=label)
            r.update(cfg)
            if r.get("clamped"):  # the config asked for a batch that does not run as such
                r.update({"ok": False, "reason": r["clamped"], "batch_run": r.get("batch_run")})
            if objective == "slo":  # each tenant a stream at the SPEC's rate=, judged against its slo=
                from runners.experiments import capacity

                capacity.judge_slo(r, spec, tenants)
            if not r["ok"]:
                await ctx.sup.remove(group.id)
                state["group"] = None
            ctx.record(key, r)
        measured.append((cfg, r))
        ctx.say(f"{cfg}: {'%.1f img/s' % r['throughput'] if r['ok'] else 'failed'}", 1)
        return r

    if full_grid:  # isolation outermost, concurrency fastest: the fewest restarts
        order = [n for n in ("isolation", "batch", "concurrency") if n in axes] + \
                [n for n in axes if n not in ("isolation", "batch", "concurrency")]
        gen = search.exhaustive({n: axes[n] for n in order}, objective, p99_ms)
    else:
        gen = search.tune(axes, objective, p99_ms, budget)
    reason = "done"
    answer = None
    try:
        answer = await search.adrive(gen, measure_at)
    except Stopped:
        reason = "stopped"
    grid = 1
    for v in axes.values():
        grid *= len(v)
    if answer is None:  # stopped: the best of what was measured
        scored = [(search.score(r, objective, p99_ms), cfg, r) for cfg, r in measured]
        scored = [s for s in scored if s[0] > float("-inf")]
        top = max(scored, key=lambda s: s[0]) if scored else None
        answer = {"best": top[1] if top else None, "best_score": top[0] if top else None,
                  "best_result": top[2] if top else None}
    best_r = answer.get("best_result") or {}
    summary = {
        "model": spec.model, "placement": spec.placement, "objective": objective, "p99_limit_ms": p99_ms,
        "strategy": "full grid" if full_grid else "pattern search", "ended_by": reason,
        "best": answer.get("best"), "best_score": answer.get("best_score"),
        "best_throughput": best_r.get("throughput"), "best_p99_ms": best_r.get("p99_ms"),
        "measured": len(measured), "grid_size": grid, "axes": axes,
        "measured_fraction": round(len(measured) / grid, 4),
        "throttled": any(r.get("throttled") for _, r in measured),
        "oversubscription": best_r.get("oversubscription"), "advice": best_r.get("advice"),
    }
    if objective == "slo":
        summary.update(slo={"ms": spec.slo_ms, "percentile": spec.slo_pct}, rate=spec.rate,
                       best_streams=(answer.get("best") or {}).get("concurrency"),
                       best_goodput_qps=best_r.get("goodput_qps"), best_attainment=best_r.get("attainment"))
    ctx.record({"kind": "summary", "model": spec.model, "placement": spec.placement}, summary)
    return summary
