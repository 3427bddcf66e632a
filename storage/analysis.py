"""Analysis queries on the run log: correlations of throughput with resources.

``correlate(conn, run_ids)``: one point per window slot of a run (the grid slot
[t_start, t_end) every child shares): the run's throughput in that slot (images of every
tenant's window of that slot / the slot's length), the concurrency (tenants that
reported in it), the batch size (mean over those windows) and each sampled metric's
time-weighted mean over the slot: a sample stamped t_i describes (t_{i-1}, t_i] (its CPU %
and IO rates are deltas since the read before), so it weighs by the part of that interval
inside the slot (``storage.aggregate.sample_means``). Pearson r between the throughput
and every other series over the points where both exist; rows sorted by |r|, each with
its number of points. Fewer than 3 points, or a constant series, gives r = None and the
note "not enough data" (or "constant series") instead of a number.
"""
import math

from storage.aggregate import SAMPLE_META, sample_means


def slot_points(conn, run_id: int) -> list:
    """[{t_start, t_end, throughput, concurrency, batch, <metric>: mean ...}] for one run."""
    rows = conn.execute(
        "SELECT w.t_start, w.t_end, w.images, w.batch FROM windows w JOIN tenants t ON t.id = w.tenant "
        "WHERE t.run = ? ORDER BY w.t_start", (run_id,)).fetchall()
    slots = {}
    for t_start, t_end, images, batch in rows:
        key = (round(t_start, 3), round(t_end, 3))
        s = slots.setdefault(key, {"images": 0, "n": 0, "batch_sum": 0})
        s["images"] += images
        s["n"] += 1
        s["batch_sum"] += batch
    cur = conn.execute("SELECT * FROM samples WHERE run = ? ORDER BY t", (run_id,))
    names = [d[0] for d in cur.description]
    samples = [dict(zip(names, r)) for r in cur.fetchall()]
    points = []
    j0 = 0
    for (t0, t1), s in sorted(slots.items()):
        if t1 <= t0:
            continue
        p = {"run": run_id, "t_start": t0, "t_end": t1, "throughput": s["images"] / (t1 - t0),
             "concurrency": float(s["n"]), "batch": s["batch_sum"] / s["n"]}
        # from the last sample at or before t0 (it opens the interval of the next one) to the
        # first at or after t1 (its interval reaches into the slot)
        while j0 + 1 < len(samples) and samples[j0 + 1]["t"] <= t0:
            j0 += 1
        j = j0
        while j < len(samples) and samples[j]["t"] < t1:
            j += 1
        p.update(sample_means(samples[j0:j + 1], t0, t1)["means"])
        points.append(p)
    return points


def pearson(xs, ys):
    """(r, note): r None with a note when fewer than 3 points or a series is constant."""
    n = len(xs)
    if n < 3:
        return None, "not enough data"
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 * max(1.0, mx * mx) * n or syy <= 1e-12 * max(1.0, my * my) * n:
        return None, "not enough data (constant series)"
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return sxy / math.sqrt(sxx * syy), None


def correlate(conn, run_ids) -> list:
    """Rows {series, r, n, note} sorted by |r| (series without r last)."""
    points = []
    for rid in run_ids:
        points.extend(slot_points(conn, rid))
    series = []
    for p in points:
        for k in p:
            if k not in ("run", "t_start", "t_end", "throughput") and k not in series:
                series.append(k)
    rows = []
    for s in series:
        pairs = [(p[s], p["throughput"]) for p in points if s in p]
        r, note = pearson([a for a, _ in pairs], [b for _, b in pairs])
        rows.append({"series": s, "r": r, "n": len(pairs), "note": note})
    rows.sort(key=lambda row: (row["r"] is None, -abs(row["r"] or 0.0), row["series"]))
    return rows


def run_ids(conn, given=None) -> list:
    """The runs asked for (checked), or the latest run."""
    from storage.errors import BadInput

    known = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]
    if not known:
        raise BadInput("the DB holds no run yet; run something first or give another --db")
    if not given:
        return [known[-1]]
    missing = [r for r in given if r not in known]
    if missing:
        raise BadInput(f"run {missing[0]} is not in the DB; runs: {', '.join(map(str, known[-10:]))}")
    return list(given)
