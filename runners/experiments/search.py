"""Pure search logic of the experiments: which level or configuration to measure next.

Nothing here starts a tenant. Each strategy is a generator: it yields the next thing to
measure (a concurrency level, or a configuration dict) and is sent back the result, a
dict with at least ``ok`` (bool) and ``throughput`` (img/s). Its return value is the
answer. ``drive`` runs one against a plain ``measure(x) -> result`` callable (tests,
benchmarks, recorded grids); the experiments drive the same generators with the
Supervisor (``adrive``), so the logic measured in ``bench/`` is the logic that runs.

Concurrency strategies (the maximum runnable level, assuming a level that fails makes
every higher level fail, as memory exhaustion does):
- ``linear``: 1, 2, 3, ... until a level fails or ``max_level``: the study's procedure.
- ``doubling``: 1, 2, 4, ... (and ``max_level``); the answer is a lower bound only.
- ``search``: doubling from 1 while the worst case still fits a budget of
  ceil(log2(max_level)) + 3 measured levels, then bisection between the highest level
  that ran and the lowest that failed (or ``max_level`` + 1). Finds the same maximum as
  ``linear`` (for monotone failures) within the budget, by construction.
"""
import math

STRATEGIES = ("linear", "doubling", "search")


def drive(gen, measure):
    """Runs a strategy generator against ``measure(x) -> result``; returns its answer."""
    try:
        q = next(gen)
        while True:
            q = gen.send(measure(q))
    except StopIteration as stop:
        return stop.value


async def adrive(gen, ameasure):
    """As ``drive``, with an async ``ameasure``."""
    try:
        q = next(gen)
        while True:
            q = gen.send(await ameasure(q))
    except StopIteration as stop:
        return stop.value


def _answer(measured: dict, max_ok: int, first_fail) -> dict:
    ok = {lvl: r for lvl, r in measured.items() if r.get("ok")}
    best = max(ok, key=lambda lvl: ok[lvl].get("throughput", 0.0)) if ok else None
    return {"max_level": max_ok, "first_failed_level": first_fail, "best_level": best,
            "best_throughput": ok[best].get("throughput") if best is not None else None,
            "levels_measured": len(measured), "order": list(measured)}


def linear(max_level: int, start: int = 1):
    measured = {}
    max_ok, fail = 0, None
    for level in range(start, max_level + 1):
        r = yield level
        measured[level] = r
        if not r.get("ok"):
            fail = level
            break
        max_ok = level
    return _answer(measured, max_ok, fail)


def doubling(max_level: int):
    measured = {}
    max_ok, fail = 0, None
    level = 1
    while True:
        r = yield level
        measured[level] = r
        if not r.get("ok"):
            fail = level
            break
        max_ok = level
        if level >= max_level:
            break
        level = min(2 * level, max_level)
    return _answer(measured, max_ok, fail)


def search_budget(max_level: int) -> int:
    return int(math.ceil(math.log2(max_level))) + 3 if max_level > 1 else 1


def _bisect_cost(lo: int, hi: int) -> int:
    """Worst-case measurements to find the boundary when lo ran and hi failed."""
    unknown = hi - lo - 1
    return int(math.ceil(math.log2(unknown + 1))) if unknown > 0 else 0


def search(max_level: int, budget: int = None):
    budget = budget or search_budget(max_level)
    measured = {}
    lo, hi = 0, max_level + 1  # lo ran (0: nothing yet), hi failed (max+1: beyond the cap)
    fail = None

    def probe_result(level, r):
        nonlocal lo, hi, fail
        measured[level] = r
        if r.get("ok"):
            lo = max(lo, level)
        else:
            hi = min(hi, level)
            fail = hi

    r = yield 1  # single tenancy: the baseline of every gain
    probe_result(1, r)
    doubling_phase = True
    while hi - lo > 1:
        if doubling_phase:
            p = min(2 * lo, hi - 1)
            worst = 1 + max(_bisect_cost(lo, p), _bisect_cost(p, hi))
            if len(measured) + worst > budget:
                doubling_phase = False
        if not doubling_phase:
            p = (lo + hi) // 2
        r = yield p
        probe_result(p, r)
        if not r.get("ok"):
            doubling_phase = False
    return _answer(measured, lo, fail if fail is not None and fail <= max_level else None)


def strategy(name: str, max_level: int):
    return {"linear": linear, "doubling": doubling, "search": search}[name](max_level)


# -- the tuner's guided search ----------------------------------------------------------------------
def score(result: dict, objective: str = "throughput", p99_ms: float = None) -> float:
    """The objective of one measured configuration; -inf when it failed or broke the limit."""
    if not result or not result.get("ok"):
        return float("-inf")
    if p99_ms is not None and (result.get("p99_ms") is None or result["p99_ms"] > p99_ms):
        return float("-inf")
    if objective == "slo":  # most streams within the SLO (capacity.judge_slo); ties: the higher goodput
        if not result.get("slo_met"):
            return float("-inf")
        return result.get("concurrency", 0) + (result.get("goodput_qps") or 0.0) / 1e6
    tp = result.get("throughput") or 0.0
    if objective == "throughput-per-watt":
        watts = result.get("power_w")
        return tp / watts if watts else float("-inf")
    return tp


def default_budget(grid_size: int) -> int:
    return max(3, int(math.floor(0.25 * grid_size)))  # at most a quarter (when the grid has 12 or more)


def tune(axes: dict, objective: str = "throughput", p99_ms: float = None, budget: int = None, start: dict = None):
    """Pattern (compass) search over the index grid of ``axes`` (name -> ordered values).

    Starts at concurrency 1 and in the middle of every other axis; measures every
    neighbour (each axis, both ways, an index step of a quarter of the axis), moves to the
    best improvement and keeps going that way while it improves; halves the steps when no
    neighbour improves; stops at step 1 without improvement or when ``budget`` configurations (default 25% of the grid) are measured.
    Yields configurations (dicts), is sent results; returns the best found.
    """
    names = list(axes)
    sizes = [len(axes[n]) for n in names]
    grid = 1
    for s in sizes:
        grid *= s
    budget = min(budget or default_budget(grid), grid)
    measured = {}

    def config(idx):
        return {n: axes[n][i] for n, i in zip(names, idx)}

    def value(idx):
        return score(measured[idx], objective, p99_ms)

    if start:
        cur = tuple(list(axes[n]).index(start[n]) if n in start else (sizes[k] - 1) // 2 for k, n in enumerate(names))
    else:  # single tenancy (the baseline, and the level least likely to run out of memory), middle elsewhere
        cur = tuple(0 if n == "concurrency" else (s - 1) // 2 for n, s in zip(names, sizes))
    measured[cur] = yield config(cur)
    steps = [max(1, s // 4) for s in sizes]
    while len(measured) < budget:
        # every neighbour at the current steps, then the best move, followed while it improves
        moves = []
        for k in range(len(names)):
            for d in (+1, -1):
                i = min(max(cur[k] + d * steps[k], 0), sizes[k] - 1)
                cand = cur[:k] + (i,) + cur[k + 1:]
                if cand != cur:
                    moves.append((k, d, cand))
        for k, d, cand in moves:
            if cand not in measured and len(measured) < budget:
                measured[cand] = yield config(cand)
        better = [(value(c), k, d, c) for k, d, c in moves if c in measured and value(c) > value(cur)]
        if better:
            _, k, d, cur = max(better, key=lambda b: b[0])
            while len(measured) < budget:
                i = min(max(cur[k] + d * steps[k], 0), sizes[k] - 1)
                cand = cur[:k] + (i,) + cur[k + 1:]
                if cand == cur:
                    break
                if cand not in measured:
                    measured[cand] = yield config(cand)
                if value(cand) > value(cur):
                    cur = cand
                    continue
                break
            continue
        if all(s == 1 for s in steps):
            break
        steps = [max(1, s // 2) for s in steps]
    best = max(measured, key=value)
    feasible = value(best) > float("-inf")
    return {"best": config(best) if feasible else None, "best_score": value(best) if feasible else None,
            "best_result": measured[best] if feasible else None, "measured": len(measured), "grid_size": grid,
            "budget": budget, "order": [config(i) for i in measured]}


def exhaustive(axes: dict, objective: str = "throughput", p99_ms: float = None):
    """Every configuration of the grid (ordered for warm reuse: the last axis varies fastest)."""
    import itertools

    names = list(axes)
    results = []
    for values in itertools.product(*(axes[n] for n in names)):
        cfg = dict(zip(names, values))
        r = yield cfg
        results.append((cfg, r))
    best = max(results, key=lambda cr: score(cr[1], objective, p99_ms))
    feasible = score(best[1], objective, p99_ms) > float("-inf")
    return {"best": best[0] if feasible else None, "best_score": score(best[1], objective, p99_ms) if feasible else None,
            "best_result": best[1] if feasible else None, "measured": len(results), "grid_size": len(results),
            "budget": len(results), "order": [c for c, _ in results]}
