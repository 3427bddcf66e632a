"""Capacity search: the largest open-loop load that meets a latency SLO.

Two questions (docs/experiments.md, ``edgemt capacity``):

- **rate** (``--rate-max R``): the largest rate of queries a second at which the SPEC's
  group (each of its tenants at that rate) meets the SLO. Rates lie on a grid of
  ``step`` (default R / 64): level k is the rate k x step, k = 1 .. ceil(R / step), so
  the answer is exact to one step.
- **streams** (``--fps F``): the largest number of tenants of the SPEC, each one stream at
  F queries a second, that together meet the SLO: level n is n tenants.

Both search the levels with ``search.search`` (doubling from level 1 while the worst case
fits its budget, then bisection between the highest level that met the SLO and the lowest
that did not), and measure each level with ``measure_level``, as the sweeps do (the same
stability rule: the steady-state rule, or ``--duration``). A level **meets the SLO** when
the SLO attainment over every query of its tenants in its span(s) is at least the SLO's
percentile (storage/queries.py: the same as its measured percentile latency, a dropped
query counting as infinitely late, being within the bound). A level that misses it, or in
which a tenant failed, is a failed level: an answer, below which the search bisects. Each
level starts fresh tenants (its rate is part of their spec). Each level is a ``results``
row (experiment ``capacity``, key {kind: level, model, placement, mode, rate, streams});
the summary row holds the answer.
"""
import math

from runners import open_loop
from runners.experiments import search
from runners.experiments.common import Context, level_key, measure_level, search_levels
from runners.measure import in_phase
from storage import queries

EXPERIMENT = "capacity"
MODES = ("rate", "streams")
RATE_LEVELS = 64  # default grid: --rate-max / 64


def rate_grid(rate_max: float, step: float = None):
    """(step, number of levels) of the rate grid."""
    step = step or rate_max / RATE_LEVELS
    return step, max(1, int(math.ceil(rate_max / step - 1e-9)))


def level_load(mode: str, level: int, spec, step: float = None, fps: float = None):
    """(rate of each tenant, number of tenants) of a level."""
    if mode == "rate":
        return round(level * step, 9), spec.count
    return fps, level


def judge(spec, tenants, spans) -> dict:
    """The open-loop figures of a level's tenants pooled over its spans, with ``met``."""
    ws = [w for t in tenants for s, e in spans for w in in_phase(t, s, e)]
    tot = queries.totals(ws) or queries.totals([open_loop._Empty])
    return open_loop.figures(spec, tot, sum(e - s for s, e in spans))


def judge_slo(r: dict, spec, tenants) -> dict:
    """Adds a measured level's open-loop figures (``judge`` over its trials' spans) to ``r``
    (measure_level's result) for the SLO of ``spec``; a level that misses it is not ok, its
    reason saying by how much (a capacity level, and dmp and tune with ``objective="slo"``)."""
    if not r.get("ok"):
        return r
    fig = judge(spec, tenants, [(t["since"], t["until"]) for t in r["trials"]])
    slo = fig["slo"]
    r.update(open_loop=fig, slo_met=slo["met"], goodput_qps=slo["goodput_qps"], attainment=slo["attainment"])
    if not slo["met"]:
        att = "nothing ended" if slo["attainment"] is None else f"{slo['attainment']:.1%} within"
        pct = f"p{spec.slo_pct:g}"
        r.update(ok=False, reason=f"SLO missed: {att} {spec.slo_ms:g} ms, {pct} needs {spec.slo_pct:g}% "
                                  f"({pct} {_ms(slo['latency_ms'])}, {fig['dropped']} dropped)")
    return r


async def run(ctx: Context, spec, slo_ms: float, slo_pct: float, mode: str, rate_max: float = None,
              step: float = None, fps: float = None, max_streams: int = 64) -> dict:
    if mode == "rate":
        step, max_level = rate_grid(rate_max, step)
    else:
        max_level = max_streams
    levels = {}
    state = {"group": None}

    async def measure(level: int) -> dict:
        rate, count = level_load(mode, level, spec, step, fps)
        if state["group"] is not None:
            await ctx.sup.remove(state["group"].id)
            state["group"] = None
        lspec = spec.with_changes(rate=rate, arrival=spec.arrival or "constant", count=count, slo_ms=slo_ms,
                                  slo_pct=slo_pct)
        ctx.say(f"{_what(mode, rate, count)}: starting")
        group = state["group"] = await ctx.sup.add_group(lspec)
        tenants = list(group.active)
        r = await measure_level(ctx, tenants, label=_what(mode, rate, count))
        r.update(rate=rate, streams=count, tenants=[t.id for t in tenants])
        return judge_slo(r, lspec, tenants)

    def key_of(level: int) -> dict:
        rate, count = level_load(mode, level, spec, step, fps)
        return level_key(spec, mode=mode, rate=rate, streams=count)

    try:
        answer = await search_levels(ctx, search.search(max_level), levels, key_of=key_of,
                                     label_of=lambda level: _what(mode, *level_load(mode, level, spec, step, fps)),
                                     measure=measure,
                                     outcome=lambda r: "SLO met" if r["ok"] else (r.get("reason") or "failed")[:40])
    finally:
        if state["group"] is not None and state["group"].id in ctx.sup.groups:
            await ctx.sup.remove(state["group"].id)
    if answer is None:
        reason = "stopped"
    elif answer["first_failed_level"]:
        reason = "bisected"
    else:
        reason = "reached --rate-max" if mode == "rate" else "reached --max"
    summary = summarize(levels, spec, mode, slo_ms, slo_pct, step, fps, rate_max, max_level, reason)
    ctx.record({"kind": "summary", "model": spec.model, "placement": spec.placement, "mode": mode}, summary)
    return summary


def _what(mode, rate, count):
    return f"rate {rate:g}/s" if mode == "rate" else f"{count} streams at {rate:g}/s"


def _ms(v):
    return "-" if v is None else f"{v:.1f} ms"


def summarize(levels: dict, spec, mode, slo_ms, slo_pct, step, fps, rate_max, max_level, reason) -> dict:
    ok = sorted(lvl for lvl, r in levels.items() if r.get("ok"))
    failed = sorted(lvl for lvl, r in levels.items() if not r.get("ok"))
    limit = failed[0] if failed else float("inf")
    best = max((lvl for lvl in ok if lvl < limit), default=None)  # monotone: the highest below the first miss
    out = {
        "model": spec.model, "placement": spec.placement, "batch": spec.batch, "mode": mode,
        "arrival": spec.arrival or "constant", "slo": {"ms": slo_ms, "percentile": slo_pct},
        "ended_by": reason, "levels_measured": len(levels),
        "levels": {str(lvl): _level_row(levels[lvl]) for lvl in sorted(levels)},
    }
    if mode == "rate":
        out.update(rate_max=rate_max, step=step, max_rate=None if best is None else levels[best]["rate"],
                   first_failed_rate=levels[failed[0]]["rate"] if failed else None)
    else:
        out.update(fps=fps, max=max_level, max_streams=0 if best is None else levels[best]["streams"],
                   first_failed_streams=levels[failed[0]]["streams"] if failed else None)
    out["failed_reason"] = levels[failed[0]].get("reason") if failed else None
    b = levels.get(best) or {}
    fig = b.get("open_loop") or {}
    out["at_answer"] = {"goodput_qps": (fig.get("slo") or {}).get("goodput_qps"),
                        "attainment": (fig.get("slo") or {}).get("attainment"),
                        "latency_ms": fig.get("latency_ms")} if b else None
    return out


def _level_row(r: dict) -> dict:
    fig = r.get("open_loop") or {}
    slo = fig.get("slo") or {}
    return {"ok": r.get("ok"), "rate": r.get("rate"), "streams": r.get("streams"), "reason": r.get("reason"),
            "offered_qps": fig.get("offered_qps"), "completed_qps": fig.get("completed_qps"),
            "dropped": fig.get("dropped"), "latency_ms": fig.get("latency_ms"), "attainment": slo.get("attainment"),
            "goodput_qps": slo.get("goodput_qps"), "measured_s": r.get("measured_s"), "steady": r.get("steady")}
