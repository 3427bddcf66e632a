"""Correlation exactness (r computed independently from the tables) and merging DBs."""
import json
import math
import random
import sqlite3


from storage import schema
from storage.analysis import correlate, pearson
from storage.merge import merge
from storage.store import Store


def make_run(path, seed=1, slots=12, tenants=2, constant_metric=True, host="boardA"):
    """A run written through the Store as the Supervisor and Sampler write it."""
    rng = random.Random(seed)
    st = Store(path)
    run = st.create_run("sweep-concurrency", {"seed": seed}, {"hostname": host, "machine": "x86_64"})
    tids = [st.add_tenant(run, group_id=1, model="mobilenet_v2", framework="torch", resource="cpu", batch=1 + (i % 2),
                          isolation="process", threads=None, started=0.0, status="stopped") for i in range(tenants)]
    for k in range(slots):
        t0 = 5.0 + k
        for j, tid in enumerate(tids[: 1 + (k % tenants)]):  # concurrency changes over time
            st.add_window(tid, t0, t0 + 1.0, rng.randint(5, 40), 5, 1 + (j % 2), {"30": 3})
        for q in range(2):  # two samples per slot, at t0+0.1 and t0+0.6; one exactly on the slot edge
            vals = {"cpu_percent": rng.uniform(10, 100), "mem_used_mb": 1000 + rng.uniform(0, 500)}
            if constant_metric:
                vals["mem_total_mb"] = 8000.0
            st.add_sample(run, t0 + (0.0 if q == 0 else 0.6), vals)
    st.add_result(run, "sweep-concurrency", {"kind": "level", "concurrency": 1}, {"ok": True, "throughput": 1.0})
    st.add_event(run, 1.0, "added", None, {"group": 1})
    st.flush()
    st.close()
    return run


def independent_r(db, run, metric):
    """r from the raw tables with its own alignment: SQL grouping, each sample weighed by the
    part of (previous sample, sample] inside the slot."""
    conn = sqlite3.connect(db)
    slots = conn.execute(
        "SELECT w.t_start, w.t_end, SUM(w.images) * 1.0 / (w.t_end - w.t_start), COUNT(*), AVG(w.batch) "
        "FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? GROUP BY w.t_start, w.t_end", (run,)).fetchall()
    xs, ys = [], []
    for t0, t1, tp, n, batch in slots:
        if metric == "concurrency":
            v = n
        elif metric == "batch":
            v = batch
        else:
            # a sample describes the interval since the sample before it: weigh it by the
            # part of that interval inside the slot
            v = conn.execute(
                f'WITH s AS (SELECT t, "{metric}" AS v, LAG(t) OVER (ORDER BY t) AS tp FROM samples WHERE run = ?), '
                f'o AS (SELECT v, MIN(t, ?) - MAX(tp, ?) AS w FROM s WHERE tp IS NOT NULL AND v IS NOT NULL) '
                f'SELECT SUM(v * w) / SUM(w) FROM o WHERE w > 1e-9', (run, t1, t0)).fetchone()[0]
        if v is not None:
            xs.append(float(v))
            ys.append(tp)
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)), n


def test_correlate_agrees_with_an_independent_computation(tmp_path):
    db = tmp_path / "a.db"
    run = make_run(db)
    rows = {r["series"]: r for r in correlate(schema.connect(db, readonly=True), [run])}
    for metric in ("cpu_percent", "mem_used_mb", "concurrency", "batch"):
        r, n = independent_r(db, run, metric)
        assert rows[metric]["n"] == n == 12
        assert abs(rows[metric]["r"] - r) < 1e-9
    assert rows["mem_total_mb"]["r"] is None and "not enough data" in rows["mem_total_mb"]["note"]
    ordered = [abs(r["r"]) for r in correlate(schema.connect(db, readonly=True), [run]) if r["r"] is not None]
    assert ordered == sorted(ordered, reverse=True)


def test_correlate_takes_each_sample_for_the_interval_it_describes(tmp_path):
    # CPU % at t is the share since the sample before: 100 % describes (4, 5], 0 % (5, 6]
    st = Store(tmp_path / "c.db")
    run = st.create_run("run", {}, {})
    tid = st.add_tenant(run, group_id=1, model="mobilenet_v2", framework="torch", resource="cpu", batch=1,
                        isolation="process", threads=None, started=0.0, status="stopped")
    cpu = {4.0: 50.0, 5.0: 100.0, 5.5: 0.0, 6.0: 0.0, 7.0: 100.0, 8.0: 20.0}
    for t, v in cpu.items():
        st.add_sample(run, t, {"cpu_percent": v})
    for t0 in (5.0, 6.0, 7.0):
        st.add_window(tid, t0, t0 + 1.0, 10, 10, 1, {})
    st.flush()
    st.close()
    from storage.analysis import slot_points

    pts = slot_points(schema.connect(tmp_path / "c.db", readonly=True), run)
    assert [p["cpu_percent"] for p in pts] == [0.0, 100.0, 20.0]


def test_not_enough_data():
    assert pearson([1.0, 2.0], [3.0, 4.0]) == (None, "not enough data")
    assert pearson([1.0, 1.0, 1.0], [3.0, 4.0, 5.0])[0] is None
    assert pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])[1].startswith("not enough data")
    r, note = pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.5])
    import statistics

    assert note is None and abs(r - statistics.correlation([1.0, 2.0, 3.0], [2.0, 4.0, 6.5])) < 1e-12


def test_correlate_on_two_points_says_not_enough_data(tmp_path):
    db = tmp_path / "b.db"
    run = make_run(db, slots=2, tenants=1)
    rows = correlate(schema.connect(db, readonly=True), [run])
    assert rows and all(r["r"] is None and r["note"].startswith("not enough data") for r in rows)


def test_merge_two_dbs_remaps_ids_and_keeps_hosts(tmp_path):
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    make_run(a, seed=1, host="rpi4")
    make_run(a, seed=2, host="rpi4")
    make_run(b, seed=3, host="jetson-nano")
    counts = merge([a, b], out)
    assert counts["runs"] == 3 and counts["skipped"] == 0
    conn = schema.connect(out, readonly=True)
    hosts = [json.loads(r[0])["hostname"] for r in conn.execute("SELECT host FROM runs ORDER BY id")]
    assert hosts == ["rpi4", "rpi4", "jetson-nano"]
    src = sqlite3.connect(b)
    assert conn.execute("SELECT COUNT(*) FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = 3").fetchone()[0] \
        == src.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
    params = json.loads(conn.execute("SELECT params FROM runs WHERE id = 3").fetchone()[0])
    assert params["merged_from"]["run"] == 1 and params["merged_from"]["db"].endswith("b.db")
    # the merged run's correlations are those of the source run
    src_rows = correlate(schema.connect(b, readonly=True), [1])
    out_rows = correlate(conn, [3])
    assert [(r["series"], r["r"], r["n"]) for r in src_rows] == [(r["series"], r["r"], r["n"]) for r in out_rows]
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 3
    # merging again adds nothing
    assert merge([a, b], out)["runs"] == 0


def test_merge_remaps_tenant_ids_inside_results(tmp_path):
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    make_run(a, seed=1, tenants=2)
    st = Store(b)
    run = st.create_run("sweep-concurrency", {"seed": 9}, {"hostname": "other"})
    tids = [st.add_tenant(run, group_id=1, model="squeezenet1_0", framework="torch", resource="cpu", batch=1,
                          isolation="process", threads=None, started=0.0, status="stopped") for _ in range(3)]
    st.add_result(run, "sweep-concurrency", {"kind": "level", "concurrency": 3},
                  {"ok": False, "tenants": tids, "failed_tenants": [tids[2]], "concurrency": 3,
                   "trials": [{"throughput": 1.0}]})
    st.flush()
    st.close()
    merge([a, b], out)
    conn = sqlite3.connect(out)
    new_run = conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    new_ids = [r[0] for r in conn.execute("SELECT id FROM tenants WHERE run = ? ORDER BY id", (new_run,))]
    assert new_ids == [3, 4, 5]  # tenants 1, 2 came from a.db
    value = json.loads(conn.execute("SELECT value FROM results WHERE run = ?", (new_run,)).fetchone()[0])
    assert value["tenants"] == new_ids and value["failed_tenants"] == [new_ids[2]]
    assert value["concurrency"] == 3 and value["trials"] == [{"throughput": 1.0}]
