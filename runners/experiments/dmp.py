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

With ``objective="slo"`` (every SPEC open-loop with an SLO: ``rate=`` and ``slo=``, one
tenant = one stream at that rate) a level counts only when its streams meet the SLO
(docs/experiments.md, "Open loop"; judged as ``edgemt capacity`` does), so the level kept
alone is the most streams within the SLO; together, a placement's streams count only if
they still meet it: streams ideal = the sum alone, streams achieved = the streams of the
placements that meet their SLO together ("most streams within SLO across placements").
"""
from runners.errors import BadInput
from runners.experiments import capacity
from runners.experiments.common import Context, Stopped, measure_level, reconfigure

EXPERIMENT = "dmp"
OBJECTIVES = ("throughput", "slo")


def check_objective(objective: str, specs) -> None:
    """BadInput unless ``objective`` is known and, for ``slo``, every SPEC has rate= and slo=."""
    if objective not in OBJECTIVES:
        raise BadInput(f"--objective {objective!r}; accepted: {', '.join(OBJECTIVES)}")
    if objective == "slo":
        for s in specs:
            if s.rate is None or s.slo_ms is None:
                raise BadInput(f"--objective slo: SPEC {str(s)!r} needs rate= (each stream's queries a second) and "
                               "slo= (its latency bound), e.g. rate=15,slo=100")


def _name(i, spec):
    return f"{spec.placement}#{i + 1}:{spec.model}"


async def run(ctx: Context, specs: list, as_given: bool = False, max_level: int = None,
              objective: str = "throughput") -> dict:
    check_objective(objective, specs)
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
                if objective == "slo":
                    key.update(objective="slo", rate=spec.rate, slo_ms=spec.slo_ms, slo_pct=spec.slo_pct)
                r = ctx.cached(key)
                if r is None:
                    ctx.check_stop()
                    ctx.say(f"{name} alone at {level}")
                    group = await reconfigure(ctx, group, spec, level, warm=True)
                    r = await measure_level(ctx, list(group.active), label=f"{name} alone at {level}")
                    r["concurrency"] = level
                    if objective == "slo":
                        capacity.judge_slo(r, spec, list(group.active))
                    ctx.record(key, r)
                ctx.say(f"{name} alone at {level}: {'%.1f img/s' % r['throughput'] if r['ok'] else 'failed'}", 1)
                if not r["ok"]:
                    break
                # slo: the most streams within the SLO (levels climb and stop at the first miss)
                if best is None or objective == "slo" or r["throughput"] > best["throughput"]:
                    best = r
            if group is not None:
                await ctx.sup.remove(group.id)
            if best is None and objective == "slo" and r.get("slo_met") is False:
                # not one stream within the SLO here: 0 streams, the other placements go on
                alone[name] = r
                chosen[name] = 0
                continue
            if best is None:
                reason = f"{name} failed alone: {r.get('reason')}"
                alone[name] = r
                raise _Failed()
            alone[name] = best
            chosen[name] = best["concurrency"]
            if ctx.cooldown:
                await ctx.cool()
        key = {"kind": "together", "parts": {n: chosen[n] for n in chosen}}
        if objective == "slo":
            key["objective"] = "slo"
        together = ctx.cached(key) if any(chosen.values()) else {"ok": False, "reason": "no placement serves a "
                                                                                         "stream within its SLO"}
        if together is None:
            ctx.check_stop()
            ctx.say("all together")
            groups = {}
            for i, spec in enumerate(specs):
                name = _name(i, spec)
                if chosen[name]:  # a placement of 0 streams (objective slo) is left out
                    groups[name] = await ctx.sup.add_group(spec.with_changes(count=chosen[name]))
            parts = {n: list(g.active) for n, g in groups.items()}
            together = await measure_level(ctx, [t for ts in parts.values() for t in ts], label="together",
                                           parts=parts)
            if objective == "slo" and together.get("ok"):
                together["parts_slo"] = {}
                for i, spec in enumerate(specs):
                    name = _name(i, spec)
                    if name not in parts:
                        continue
                    part = capacity.judge_slo(dict(ok=True, trials=together["trials"]), spec, parts[name])
                    together["parts_slo"][name] = {k: part.get(k) for k in ("slo_met", "attainment", "goodput_qps",
                                                                           "reason")}
            ctx.record(key, together)
        ctx.say(f"together: {'%.1f img/s' % together['throughput'] if together['ok'] else 'failed'}", 1)
        if not together["ok"]:
            reason = f"together failed: {together.get('reason')}"
    except Stopped:
        reason = "stopped"
    except _Failed:
        pass
    summary = summarize(alone, chosen, together, as_given, reason, names=[_name(i, s) for i, s in enumerate(specs)])
    if objective == "slo":
        summary.update(slo_summary(alone, chosen, together, summary["parts"]))
    ctx.record({"kind": "summary"}, summary)
    return summary


class _Failed(Exception):
    pass


def slo_summary(alone: dict, chosen: dict, together: dict, parts: dict) -> dict:
    """The streams figures of ``objective="slo"``; each part gets ``slo_together``."""
    by_part = (together or {}).get("parts_slo") or {}
    complete = all(n in chosen for n in parts)
    ideal = sum(chosen.values()) if complete else None
    if complete and not any(chosen.values()):
        achieved = 0  # nothing to run together
    else:
        achieved = sum(chosen[n] for n, f in by_part.items() if f.get("slo_met")) if complete and by_part else None
    for n, p in parts.items():
        p["streams_alone"] = chosen.get(n)
        p["slo_together"] = by_part.get(n)
    return {"objective": "slo", "streams_ideal": ideal, "streams_achieved": achieved,
            "streams_met_together": achieved is not None and achieved == ideal}


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
