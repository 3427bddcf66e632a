"""storage/reads.py: the named read queries the UI, reports and experiments use, on a run
log written by the real Store."""
import pytest

from storage import reads, schema
from storage.errors import BadInput
from storage.store import Store, dead_runs, live_runs


def test_reads_return_a_runs_rows_in_order(tmp_path):
    db = tmp_path / "r.db"
    st = Store(db)
    run = st.create_run("run", {"a": 1})
    other = st.create_run("sweep", {})
    tid = st.add_tenant(run, group_id=1, model="m", framework="torch", resource="cpu", batch=1,
                        isolation="process", status="running")
    for k in range(3):
        st.add_window(tid, k * 0.5, (k + 1) * 0.5, 10 + k, 2, 1, {"3": 2})
        st.add_sample(run, k * 0.5, {"cpu_percent": 10.0 * k})
        st.add_event(run, k * 0.5, "step", tid, {"k": k})
    st.add_result(run, "sweep-batch", {"batch": 1}, {"throughput": 5.0})
    st.add_result(run, "other", {"kind": "summary"}, {"ok": True})
    assert st.run_row(run)["params"] == '{"a": 1}' and st.latest_run()["id"] == other
    assert [r["t"] for r in st.samples_around(run, 0.2, 0.6)] == [0.0, 0.5, 1.0]
    st.close()

    conn = schema.connect(db, readonly=True)
    try:
        assert reads.resolve_run(conn)["id"] == other and reads.resolve_run(conn, run)["kind"] == "run"
        with pytest.raises(BadInput, match=f"run 9 is not in the DB; runs: {run}, {other}"):
            reads.resolve_run(conn, 9)
        assert [t["id"] for t in reads.tenants(conn, run)] == [tid]
        assert [w["images"] for w in reads.windows(conn, run)] == [10, 11, 12]
        first = reads.windows(conn, run)[0]["id"]
        assert [w["images"] for w in reads.windows(conn, run, after_id=first)] == [11, 12]
        assert [s["cpu_percent"] for s in reads.samples(conn, run)] == [0.0, 10.0, 20.0]
        assert len(reads.samples(conn, run, after_id=reads.samples(conn, run)[1]["id"])) == 1
        assert [e["kind"] for e in reads.events(conn, run)] == ["step"] * 3
        assert reads.results(conn, run, "sweep-batch") == [
            {"experiment": "sweep-batch", "key": {"batch": 1}, "value": {"throughput": 5.0}}]
        assert len(reads.results(conn, run)) == 2
        assert [r["id"] for r in reads.running_runs(conn)] == [run, other]
    finally:
        conn.close()
    # this process is their controller: both are live, none dead
    assert [r["id"] for r in live_runs(db)] == [run, other] and dead_runs(db) == []
