"""storage/diff.py: flattening, fingerprint/param/state differences, results side by side."""
import pytest

from storage.diff import compare_results, diff_dicts, diff_runs, flatten, results_of


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None, "f": {}}) == \
        {"a.b": 1, "a.c.d": [1, 2], "e": None, "f": {}}


def test_diff_dicts_added_removed_changed():
    a = {"kernel": "5.10", "l4t": {"release": "35.4.1"}, "nvpmodel": {"name": "MAXN", "id": 0}, "x": 1}
    b = {"kernel": "5.15", "l4t": {"release": "35.4.1"}, "nvpmodel": {"name": "15W", "id": 2}, "y": 2}
    d = diff_dicts(a, b)
    assert d["changed"] == {"kernel": ["5.10", "5.15"], "nvpmodel.name": ["MAXN", "15W"], "nvpmodel.id": [0, 2]}
    assert d["added"] == {"y": 2} and d["removed"] == {"x": 1} and d["same"] == 1


def W(tenant, group, fw, res, t0, images):
    return dict(tenant=tenant, group=group, framework=fw, resource=res, t_start=t0, t_end=t0 + 1.0, images=images)


def test_results_of_levels_and_span():
    ws = [W(1, 1, "torch", "cpu", t, 10) for t in range(0, 4)] + \
         [W(2, 2, "tflite", "cpu", t, 20) for t in range(1, 4)]
    r = results_of(ws, (1.0, 4.0))
    assert r["total"] == pytest.approx(30.0) and r["images"] == 90
    assert r["placements"] == {"tflite@cpu": 20.0, "torch@cpu": 10.0}
    assert r["groups"] == {"g1": 10.0, "g2": 20.0}
    whole = results_of(ws, None)  # no span: every window; level = while all ran
    assert whole["total"] == pytest.approx(30.0) and whole["placements"]["torch@cpu"] == 10.0


def test_results_rows_numeric_fields():
    rows = [{"experiment": "concurrency", "key": '{"level": 2}', "value": '{"throughput": 12.5, "ok": true, "note": "x"}'}]
    r = results_of([], None, None, rows)
    assert r["results"] == {'concurrency {"level": 2} throughput': 12.5}


def test_compare_results_ratio():
    ra = {"total": 10.0, "placements": {"torch@cpu": 10.0}, "groups": {"g1": 10.0}, "joules_per_inference": 0.5}
    rb = {"total": 15.0, "placements": {"torch@cpu": 12.0, "tflite@cpu": 3.0}, "groups": {"g1": 15.0},
          "joules_per_inference": None}
    rows = {r["what"]: r for r in compare_results(ra, rb)}
    assert rows["total img/s"]["ratio"] == 1.5
    assert rows["placement torch@cpu img/s"]["ratio"] == 1.2
    assert rows["placement tflite@cpu img/s"]["a"] is None and rows["placement tflite@cpu img/s"]["ratio"] is None
    assert rows["group g1 img/s"]["ratio"] == 1.5
    assert rows["total J/img"]["a"] == 0.5 and rows["total J/img"]["ratio"] is None


def test_diff_runs_splits_state_and_ignores_measured_span():
    a = {"id": 1, "kind": "run", "host": {"kernel": "a", "state_at_start": {"temp_cpu_c": 40.0}},
         "params": {"duration": 2, "measured": {"since": 1, "until": 3}}, "results": {"total": 1.0}}
    b = {"id": 2, "kind": "run", "host": {"kernel": "a", "state_at_start": {"temp_cpu_c": 55.0, "power_w": 4.0}},
         "params": {"duration": 5, "measured": {"since": 9, "until": 14}}, "results": {"total": 2.0}}
    d = diff_runs(a, b)
    assert d["fingerprint"]["changed"] == {} and d["fingerprint"]["same"] == 1
    assert d["state_at_start"]["changed"] == {"temp_cpu_c": [40.0, 55.0]}
    assert d["state_at_start"]["added"] == {"power_w": 4.0}
    assert d["params"]["changed"] == {"duration": [2, 5]}
    assert d["results"][0] == {"what": "total img/s", "a": 1.0, "b": 2.0, "ratio": 2.0}


def WM(tenant, group, t0, images, model="mobilenet_v2", batch=1):
    return dict(W(tenant, group, "torch", "cpu", t0, images), model=model, batch=batch)


def sweep(rate1, rate2):
    """A concurrency sweep started fresh at each level: level 1 (tenant 1) on 0..4 s, then
    level 2 (tenants 2, 3) on 4..8 s: no span in which every tenant ran."""
    return [WM(1, 1, t, rate1) for t in range(0, 4)] + [WM(tid, 2, t, rate2) for t in range(4, 8) for tid in (2, 3)]


def test_diff_compares_a_sweep_segment_by_segment():
    ra, rb = results_of(sweep(10, 8), None), results_of(sweep(20, 12), None)
    assert ra["total"] is None  # no span in which all ran: no figure, not 0.0
    assert [(s["label"], s["throughput"], s["seconds"]) for s in ra["segments"]] == \
        [("1x g1 torch@cpu mobilenet_v2 b1", 10.0, 4.0), ("2x g2 torch@cpu mobilenet_v2 b1", 16.0, 4.0)]
    rows = {r["what"]: r for r in compare_results(ra, rb)}
    assert rows["segment 1x g1 torch@cpu mobilenet_v2 b1 img/s"]["ratio"] == 2.0
    assert rows["segment 2x g2 torch@cpu mobilenet_v2 b1 img/s"]["ratio"] == 1.5
    assert rows["total img/s"]["a"] is None and rows["total img/s"]["ratio"] is None


def test_diff_matches_repeated_compositions_in_order():
    # a UI run: one tenant, a second added, removed, added again (step up, down, up)
    def run(r):
        ws = [WM(1, 1, t, r) for t in range(0, 6)]
        ws += [WM(2, 1, t, r) for t in range(2, 3)] + [WM(3, 1, t, 2 * r) for t in range(4, 6)]
        return results_of(ws, None)

    a, b = run(5), run(10)
    keys = [s["key"] for s in a["segments"]]
    assert keys == ["1x g1 torch@cpu mobilenet_v2 b1", "2x g1 torch@cpu mobilenet_v2 b1",
                    "1x g1 torch@cpu mobilenet_v2 b1 #2", "2x g1 torch@cpu mobilenet_v2 b1 #2"]
    rows = {r["what"]: r for r in compare_results(a, b)}
    assert rows["segment 2x g1 torch@cpu mobilenet_v2 b1 #2 img/s"]["a"] == 15.0
    assert all(rows[f"segment {k} img/s"]["ratio"] == 2.0 for k in keys)
