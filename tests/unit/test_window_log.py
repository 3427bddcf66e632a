"""A tenant's windows in bounded memory (runners/window_log.py): what it answers from the
recent windows, the running totals and the DB is what the whole list would answer."""
import random

import pytest

from storage import aggregate
from storage.aggregate import Window
from runners.window_log import WindowLog
from storage.store import Store


@pytest.fixture
def store(tmp_path):
    st = Store(tmp_path / "w.db")
    yield st
    st.close()


def tenant(store, run):
    return store.add_tenant(run, group_id=1, model="m", framework="tflite", resource="cpu", batch=1,
                            isolation="thread", status="running", spec={})


def feed(store, tid, log, windows):
    for w in windows:
        log.append(w)
        store.add_window(tid, w.t_start, w.t_end, w.images, w.batches, 1, w.hist)


def grid(start, n, w=0.5, gap_at=()):
    """Windows on a grid with some gaps (a pause), random images."""
    rnd = random.Random(start)
    out, k = [], 0
    while len(out) < n:
        if k in gap_at:
            k += 3
        t0 = round(start + k * w, 3)
        im = rnd.randint(0, 40)
        out.append(Window(t0, round(t0 + w, 3), im, im // 2 + 1, {"60": im, "61": 1}))
        k += 1
    return out


def test_recent_ring_is_bounded_and_totals_cover_everything(store):
    run = store.create_run("test", {})
    tid = tenant(store, run)
    log = WindowLog(tid, store, keep=8)
    ws = grid(1.0, 200, gap_at=(50, 120))
    feed(store, tid, log, ws)
    assert len(log.recent) == 8 and list(log.recent) == ws[-8:]
    assert log.count == 200 and log.images == sum(w.images for w in ws)
    assert log.batches == sum(w.batches for w in ws)
    assert log.hist == {"60": sum(w.images for w in ws), "61": 200}
    assert log.first_start == ws[0].t_start and log.last_end == ws[-1].t_end


@pytest.mark.parametrize("since_i, until_i", [(None, None), (0, None), (3, 150), (60, 199), (190, None),
                                               (195, 197), (10, 12), (None, 40)])
def test_between_and_totals_agree_with_the_whole_list(store, since_i, until_i):
    run = store.create_run("test", {})
    tid = tenant(store, run)
    log = WindowLog(tid, store, keep=8)
    ws = grid(2.0, 200, gap_at=(50, 120))
    feed(store, tid, log, ws)
    since = None if since_i is None else ws[since_i].t_start
    until = None if until_i is None else ws[until_i].t_end
    want = [w for w in ws if (since is None or w.t_start >= since - 1e-3) and (until is None or w.t_end <= until + 1e-3)]
    got = log.between(since, until)
    assert got == want
    images, batches, first, last = log.totals(since, until)
    assert images == sum(w.images for w in want) and batches == sum(w.batches for w in want)
    assert (first, last) == (want[0].t_start, want[-1].t_end)
    assert log.throughput(since, until) == pytest.approx(aggregate.tenant_throughput(want))
    # asked again (a phase start remembered), the same answer
    assert log.totals(since, until) == (images, batches, first, last)


def test_a_phase_start_is_remembered_once_it_is_in_the_past(store):
    """measure() asks for the totals since the phase start every tick: after the phase
    outgrew the recent windows, the answer comes from what was remembered, not the DB."""
    run = store.create_run("test", {})
    tid = tenant(store, run)
    calls = []

    class Counting:
        def windows_between(self, *a):
            calls.append("between")
            return store.windows_between(*a)

        def window_totals_before(self, *a):
            calls.append("before")
            return store.window_totals_before(*a)

        def window_totals_through(self, *a):
            calls.append("through")
            return store.window_totals_through(*a)

    log = WindowLog(tid, Counting(), keep=4)
    ws = grid(0.0, 100)
    feed(store, tid, log, ws[:3])
    since = ws[2].t_start
    assert log.totals(since)[0] == ws[2].images
    feed(store, tid, log, ws[3:])
    assert log.totals(since)[0] == sum(w.images for w in ws[2:])
    assert calls == []


def test_level_throughput_from_totals_equals_eq1_on_the_windows(tmp_path):
    """Supervisor.level_throughput (running totals) = aggregate.level_throughput (lists)."""
    from runners.supervisor import Supervisor, Tenant

    st = Store(tmp_path / "l.db")
    try:
        run = st.create_run("test", {})
        sup = Supervisor(st, run, python_for=lambda fw: "python3", window_s=0.5, recent_windows=4)
        per, tenants = {}, []
        for start, n in ((0.0, 80), (5.0, 40), (2.5, 70)):
            tid = tenant(st, run)
            t = Tenant(tid, None, None, 1, log=WindowLog(tid, st, 4))
            ws = grid(start, n, gap_at=(30,))
            feed(st, tid, t.log, ws)
            per[tid], tenants = ws, tenants + [t]
        for since in (None, 6.0, 12.5):
            sel = {k: [w for w in v if since is None or w.t_start >= since - 1e-3] for k, v in per.items()}
            assert sup.level_throughput(tenants, since) == pytest.approx(aggregate.level_throughput(sel))
    finally:
        st.close()


def test_older_windows_are_read_back_after_the_store_closed(tmp_path):
    """`edgemt run` prints its summary after the run's Store is closed."""
    st = Store(tmp_path / "c.db")
    run = st.create_run("test", {})
    tid = tenant(st, run)
    log = WindowLog(tid, st, keep=4)
    ws = grid(0.0, 50)
    feed(st, tid, log, ws)
    st.close()
    assert log.between(ws[10].t_start) == ws[10:]
    assert log.totals(ws[10].t_start, ws[20].t_end)[0] == sum(w.images for w in ws[10:21])
