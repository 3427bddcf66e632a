"""Batch sweep: one group measured at each batch size in turn, stopping at the first failure.

Each batch starts the group afresh (see ``common.reconfigure`` for why not in place). The first batch whose tenant fails (out of
memory, typically) ends the sweep: the largest runnable batch is the one before it. A batch
the backend clamps (a fixed-batch model, e.g. on an EdgeTPU) ends it too: the level
records the batch that ran (``batch``, ``batch_asked``, ``clamped``) and is not runnable. Each
batch is a ``results`` row (experiment ``sweep-batch``, key {kind: level, model, placement,
count, batch}); the summary row names the largest runnable batch, the best batch and its
throughput.
"""
from runners.experiments.common import Context, Stopped, level_key, measure_level, reconfigure

EXPERIMENT = "sweep-batch"
DEFAULT_BATCHES = tuple(2 ** i for i in range(9))  # 1..256, as the study tried


async def run(ctx: Context, spec, batches=DEFAULT_BATCHES) -> dict:
    results = {}
    group = None
    reason = "all batches ran"
    try:
        for b in batches:
            key = level_key(spec, count=spec.count, isolation=spec.isolation, batch=b)
            r = ctx.cached(key)
            if r is None:
                ctx.check_stop()
                if results and ctx.cooldown and group is not None:
                    await ctx.cool([group])
                ctx.say(f"batch {b}: starting")
                group = await reconfigure(ctx, group, spec, spec.count, batch=b, warm=True)
                tenants = list(group.active)
                r = await measure_level(ctx, tenants, label=f"batch {b}")
                r.update({"batch": r.get("batch_run", b), "batch_asked": b, "tenants": [t.id for t in tenants]})
                if r.get("clamped"):
                    r.update({"ok": False, "reason": r["clamped"]})  # batch b does not run as such
                ctx.record(key, r)
            results[b] = r
            if r.get("clamped"):
                # a fixed-batch model (an EdgeTPU's): larger batches would all measure the same batch
                ctx.say(f"{r['clamped']}: the model's batch is fixed; the sweep stops", 1)
                reason = f"{r['clamped']}: the model's batch is fixed"
                break
            ctx.say(f"batch {b}: {'%.1f img/s' % r['throughput'] if r['ok'] else 'failed'}", 1)
            if not r["ok"]:
                reason = f"batch {b} failed"
                break
    except Stopped:
        reason = "stopped"
    summary = summarize(results, spec, list(batches), reason)
    ctx.record({"kind": "summary", "model": spec.model, "placement": spec.placement, "count": spec.count,
                "isolation": spec.isolation}, summary)
    return summary


def summarize(results: dict, spec, batches: list, reason: str) -> dict:
    ok = {b: r for b, r in results.items() if r.get("ok") and not r.get("clamped")}
    failed = [b for b, r in results.items() if not r.get("ok")]
    best = max(ok, key=lambda b: ok[b]["throughput"]) if ok else None
    return {
        "model": spec.model, "placement": spec.placement, "count": spec.count, "isolation": spec.isolation,
        "batches": batches, "ended_by": reason,
        "largest_runnable_batch": max(ok) if ok else None,
        "failed_batch": failed[0] if failed else None,
        "failed_reason": results[failed[0]].get("reason") if failed else None,
        "best_batch": best, "best_throughput": ok[best]["throughput"] if best else None,
        "batches_measured": len(results),
        "clamped_batch": next((b for b, r in results.items() if r.get("clamped")), None),
        "levels": {str(b): {k: results[b].get(k) for k in ("ok", "batch", "clamped", "throughput", "std", "p99_ms",
                                                            "throttled", "resources", "joules_per_inference",
                                                            "reason", "steady", "measured_s", "images",
                                                            "ramp_throughput", "oversubscription")}
                   for b in results},
        "throttled_batches": [b for b in ok if ok[b].get("throttled")],
        "oversubscribed_batches": [b for b in ok if ok[b].get("oversubscription")],
        "advice": next((results[b]["advice"] for b in results if results[b].get("advice")), None),
    }
