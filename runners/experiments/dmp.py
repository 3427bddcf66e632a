"""DMP against the ideal: each placement alone at its best CME level, then all together.

For each SPEC (a group on one placement) the levels 1..``max_level`` (default: the SPEC's
count) are measured alone, in turn, stopping at a failing level; the best is kept. With
``as_given`` each SPEC is measured alone only at its own count. Then every group runs
together at those levels.

- ideal = the sum of the alone results (the study: GPU alone + EdgeTPU alone), only when
  every placement was measured alone: an incomplete DMP names the missing placements
  (``missing``) and has no ideal, achieved or gap
- achieved = the level throughput of every tenant together (eq. 1 over the common span)
- gap % = (ideal - achieved) / ideal * 100
- per placement: alone, together, and each sampled resource's mean alone and together.
"""
from runners.experiments.common import Context, Stopped, measure_level, reconfigure

EXPERIMENT = "dmp"


def _name(i, spec):
    return f"{spec.placement}#{i + 1}:{spec.model}"


async def run(ctx: Context, specs: list, as_given: bool = False, max_level: int = None) -> dict:
    alone, chosen = {}, {}
    together = None
    reason = "done"
    try:
        for i, spec in enumerate(specs):
            name = _name(i, spec)
            levels = [spec.count] if as_given else list(range(1, (max_level or spec.count) + 1))
            group, best = None, None
            for level in levels:
                key = {"kind": "alone", "part": name, "model": spec.model, "placement": spec.placement,
                       "batch": spec.batch, "isolation": spec.isolation, "concurrency": level}
                r = ctx.cached(key)
                if r is None:
                    ctx.check_stop()
                    ctx.say(f"{name} alone at {level}")
                    group = await reconfigure(ctx, group, spec, level, warm=True)
                    r = await measure_level(ctx, list(group.active), label=f"{name} alone at {level}")
                    r["concurrency"] = level
                    ctx.record(key, r)
                ctx.say(f"{name} alone at {level}: {'%.1f img/s' % r['throughput'] if r['ok'] else 'failed'}", 1)
                if not r["ok"]:
                    break
                if best is None or r["throughput"] > best["throughput"]:
                    best = r
            if group is not None:
                await ctx.sup.remove(group.id)
            if best is None:
                reason = f"{name} failed alone: {r.get('reason')}"
                alone[name] = r
                raise _Failed()
            alone[name] = best
            chosen[name] = best["concurrency"]
            if ctx.cooldown:
                await ctx.cool()
        key = {"kind": "together", "parts": {n: chosen[n] for n in chosen}}
        together = ctx.cached(key)
        if together is None:
            ctx.check_stop()
            ctx.say("all together")
            groups = {}
            for i, spec in enumerate(specs):
                name = _name(i, spec)
                groups[name] = await ctx.sup.add_group(spec.with_changes(count=chosen[name]))
            parts = {n: list(g.active) for n, g in groups.items()}
            together = await measure_level(ctx, [t for ts in parts.values() for t in ts], label="together",
                                           parts=parts)
            ctx.record(key, together)
        ctx.say(f"together: {'%.1f img/s' % together['throughput'] if together['ok'] else 'failed'}", 1)
        if not together["ok"]:
            reason = f"together failed: {together.get('reason')}"
    except Stopped:
        reason = "stopped"
    except _Failed:
        pass
    summary = summarize(alone, chosen, together, as_given, reason, names=[_name(i, s) for i, s in enumerate(specs)])
    ctx.record({"kind": "summary"}, summary)
    return summary


class _Failed(Exception):
    pass


def summarize(alone: dict, chosen: dict, together: dict, as_given: bool, reason: str, names=None) -> dict:
    ok_alone = {n: r for n, r in alone.items() if r.get("ok")}
    names = list(names) if names is not None else list(alone)
    # the ideal is a sum over every placement: from part of them it would be a wrong number
    missing = {n: ("failed alone: " + (alone[n].get("reason") or "?")) if n in alone else "not measured"
               for n in names if n not in ok_alone}
    complete = not missing
    ideal = round(sum(r["throughput"] for r in ok_alone.values()), 4) if ok_alone and complete else None
    achieved = together["throughput"] if complete and together and together.get("ok") else None
    gap = round((ideal - achieved) / ideal * 100.0, 2) if ideal and achieved is not None else None
    parts = {}
    for n in names:
        r = alone.get(n) or {}
        t_part = (together or {}).get("parts", {}).get(n) if together and together.get("ok") else None
        parts[n] = {"level": chosen.get(n), "alone": r.get("throughput") if r.get("ok") else None,
                    "together": t_part,
                    "share_of_alone": round(t_part / r["throughput"], 4) if t_part is not None and r.get("ok")
                    and r["throughput"] else None,
                    "resources_alone": r.get("resources"), "failed_reason": r.get("reason"),
                    "missing": missing.get(n)}
    return {
        "as_given": as_given, "ended_by": reason, "complete": complete, "missing": missing,
        "ideal": ideal, "achieved": achieved, "gap_percent": gap,
        "gain_over_best_alone": round(achieved / max(r["throughput"] for r in ok_alone.values()), 4)
        if achieved and ok_alone else None,
        "parts": parts, "resources_together": (together or {}).get("resources"),
        "throttled": bool(together and together.get("throttled")) or any(r.get("throttled") for r in ok_alone.values()),
        "together_reason": together.get("reason") if together and not together.get("ok") else None,
        "oversubscription": (together or {}).get("oversubscription"), "advice": (together or {}).get("advice"),
    }
