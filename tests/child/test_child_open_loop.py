"""Open-loop tenants (runners/child/arrivals.py, child_loop's _loop_open) driven in this
process with the oracle's backends (batches of a known time): the arrival processes, the
schedule without a start-up burst, and a saturated tenant whose queue and latency grow and
whose drops are counted. No framework needed; no assertion on how fast this machine is."""
import os
import statistics
import sys
import threading
import time

import pytest

from child_harness import CHILD_DIR

sys.path.insert(0, str(CHILD_DIR))
import arrivals  # noqa: E402
import child_loop  # noqa: E402
import latency  # noqa: E402
import slot_wait  # noqa: E402
from oracle.oracle_child import OracleBackends  # noqa: E402
from test_child_loop import Events, _stop  # noqa: E402


def _child(models):
    events = Events()
    child = child_loop.Child(events, lambda *a, **k: None, framework="torch", exit_fn=lambda code: None,
                             backends=OracleBackends({"models": models}))
    child.reporter.start()
    return child, events


def _record_starts(monkeypatch):
    """Every (actual start, scheduled time) the tenants take from their queues."""
    starts = []
    lock = threading.Lock()
    started = child_loop.Tenant._started

    def spy(tenant, now, scheduled):
        with lock:
            starts.append((now, scheduled))
        started(tenant, now, scheduled)

    monkeypatch.setattr(child_loop.Tenant, "_started", spy)
    return starts, lock


def test_poisson_inter_arrival_times_are_exponential_at_the_rate():
    # imported here, not with the module: scipy.stats is ~1 s of CPU, and every test worker
    # imports every test module
    from scipy import stats

    rate = 40.0
    s = arrivals.Schedule(0.0, rate, "poisson", seed=7)
    times = [s.pop() for _ in range(5001)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert times[0] == 0.0  # the first query at the origin
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 0.01
    # at another rate the same gaps are rejected: the test can fail
    assert stats.kstest(gaps, "expon", args=(0, 1 / (1.3 * rate))).pvalue < 1e-6
    # seeded: the same seed gives the same schedule, another seed another one
    again = arrivals.Schedule(0.0, rate, "poisson", seed=7)
    assert [again.pop() for _ in range(5001)] == times
    other = arrivals.Schedule(0.0, rate, "poisson", seed=8)
    assert [other.pop() for _ in range(10)] != times[:10]


def test_constant_schedule_is_exact_and_trace_repeats():
    s = arrivals.Schedule(100.0, 3.0, "constant")
    times = [s.pop() for _ in range(3001)]
    assert times == [100.0 + n / 3.0 for n in range(3001)]  # a product: no drift after 3,000 queries
    t = arrivals.Schedule(0.0, 1.0, "trace", trace=[0.5, 0.25])
    assert [t.pop() for _ in range(5)] == [0.0, 0.5, 0.75, 1.25, 1.5]


def test_queue_drops_over_its_bound():
    seen = []
    q = arrivals.Queue(arrivals.Schedule(0.0, 10.0), bound=3, on_arrival=lambda t, d: seen.append(d))
    q.advance(0.55)  # queries at 0.0 .. 0.5 arrived while nothing started: 3 wait, 3 dropped
    assert len(q) == 3 and q.dropped == 3 and seen == [False] * 3 + [True] * 3
    assert q.take() == 0.0 and len(q) == 2
    q.advance(0.6)
    assert len(q) == 3 and q.dropped == 3


def test_read_trace(tmp_path):
    f = tmp_path / "trace.txt"
    f.write_text("# gaps\n0.1\n\n0.2  # comment\n")
    assert arrivals.read_trace(str(f)) == [0.1, 0.2]
    f.write_text("0.1\nfast\n")
    with pytest.raises(ValueError, match="line 2"):
        arrivals.read_trace(str(f))


def _start(child, tid, window_s, **spec):
    spec = dict(dict(model="m", resource="cpu", batch=1, window_s=window_s, warmup_batches=1), **spec)
    assert child.handle({"cmd": "start", "tenant": tid, "spec": spec})


def test_constant_arrivals_start_on_their_slots_without_a_burst(monkeypatch):
    starts, lock = _record_starts(monkeypatch)
    rate = 50.0
    child, events = _child({"*": {"batch_s": 0.002, "from_start": True}})
    _start(child, 1, 0.2, rate=rate, arrival="constant")
    events.wait(lambda: len(starts) >= 60)
    _stop(child, events, [1])
    with lock:
        got = list(starts)
    origin = got[0][1]
    for n, (now, scheduled) in enumerate(got):
        assert scheduled == origin + n / rate  # the slots of the schedule, in order, none skipped
        assert now >= scheduled  # never before its slot
    # no start-up burst: the first query at the origin (the first counted window edge),
    # then one per slot; a query that started late is followed by the next on its own
    # slot, not by a catch-up run
    assert got[0][0] - origin < 0.5  # generous: a loaded machine wakes late
    lags = [now - scheduled for now, scheduled in got]
    assert statistics.median(lags) < 0.1  # generous: on time, give or take a loaded machine
    windows = [w for w in events.of("window", 1) if w["scheduled"]]
    assert windows, "an open-loop window carries its queries"
    for w in windows:
        assert {"scheduled", "started", "completed", "dropped", "queue", "lag_sum", "lag_max", "lag_hist",
                "qhist"} <= set(w)
        assert "within" not in w  # no SLO given
        assert w["dropped"] == 0
        assert sum(w["lag_hist"].values()) == w["started"]
        assert sum(w["qhist"].values()) == w["completed"] == w["batches"]


def test_saturated_tenant_queues_then_drops_and_latency_grows(monkeypatch):
    # service 0.1 s, 20 queries a second: twice what it can serve. The queue fills up to its
    # bound, the latency from the scheduled time grows with it, and the rest is dropped and
    # counted: the offered rate is not silently lowered.
    rate, bound, window_s = 20.0, 8, 0.25
    child, events = _child({"*": {"batch_s": 0.1, "from_start": True}})
    _start(child, 1, window_s, rate=rate, arrival="constant", queue=bound, slo_s=0.25)
    events.wait(lambda: sum(w.get("dropped", 0) for w in events.of("window", 1)) >= 10, timeout=60)
    _stop(child, events, [1])
    ws = [w for w in events.of("window", 1) if "scheduled" in w]
    counted = [w for w in ws if w["scheduled"]]
    # every whole window was offered its 5 queries (the schedule, not the service, sets it)
    assert all(4 <= w["scheduled"] <= 6 for w in counted[1:-1])
    total = {k: sum(w[k] for w in ws) for k in ("scheduled", "started", "completed", "dropped", "within")}
    assert total["dropped"] >= 10
    # only admitted queries start (those admitted before the first counted window, at most
    # a queue's worth, may start in it)
    assert total["completed"] <= total["started"] + 1
    assert total["started"] <= total["scheduled"] - total["dropped"] + bound + 1
    assert total["completed"] < 0.7 * total["scheduled"]  # it serves ~10 of the 20 a second
    queues = [w["queue"] for w in ws]
    # full when dropping (at a report the queue may be one short: a query just started)
    assert bound - 1 <= max(queues) <= bound
    first = next(w for w in ws if w["completed"])
    last = [w for w in ws if w["completed"]][-1]
    p99_first = latency.percentile(first["qhist"], 99)
    p99_last = latency.percentile(last["qhist"], 99)
    assert p99_last > 3 * p99_first  # waited behind ~8 queries of 0.1 s
    assert p99_last >= 0.5
    assert total["within"] < total["completed"]  # late ones are not within the 0.25 s SLO
    lag_max = max(w["lag_max"] for w in ws)
    assert lag_max >= 0.5  # started long after their slots: the queueing is in the lag


def test_pause_restarts_the_schedule(monkeypatch):
    starts, lock = _record_starts(monkeypatch)
    child, events = _child({"*": {"batch_s": 0.002, "from_start": True}})
    _start(child, 1, 0.1, rate=20.0, arrival="poisson", seed=3)
    events.wait(lambda: len(starts) >= 5)
    child.handle({"cmd": "pause", "tenant": 1})
    time.sleep(0.5)
    with lock:
        n = len(starts)
    child.handle({"cmd": "resume", "tenant": 1})
    resumed = time.monotonic()
    events.wait(lambda: len(starts) >= n + 3)
    _stop(child, events, [1])
    with lock:
        after = starts[n:]
    # the queries missed while paused are not run in a burst after the resume
    assert after[0][1] >= resumed - 0.05


def test_set_rate_switches_closed_to_open_loop_and_back(monkeypatch):
    """set_rate (the UI's r): a closed-loop tenant runs open-loop from its next counted
    window edge, at the new rate, its schedule starting there (no burst of queries
    "missed" before); set_rate with rate null brings it back to closed loop, whose windows
    carry no query fields; a bad rate is refused with a log line and changes nothing."""
    starts, lock = _record_starts(monkeypatch)
    child, events = _child({"*": {"batch_s": 0.002, "from_start": True}})
    _start(child, 1, 0.1)
    events.wait(lambda: len(events.of("window", 1)) >= 3)
    assert not starts and all("scheduled" not in w for w in events.of("window", 1))  # closed loop

    child.handle({"cmd": "set_rate", "tenant": 1, "rate": "fast"})
    events.wait(lambda: any("set_rate" in e["message"] for e in events.of("log")))
    changed = time.monotonic()
    child.handle({"cmd": "set_rate", "tenant": 1, "rate": 20.0, "arrival": "constant", "seed": None,
                  "queue": None, "slo_s": 0.5, "trace": None})
    events.wait(lambda: len(starts) >= 10)
    with lock:
        got = list(starts)
    origin = got[0][1]
    assert origin >= changed  # the schedule starts after the command, at a window edge
    assert [s for _, s in got[:10]] == [origin + n / 20.0 for n in range(10)]
    events.wait(lambda: any(w.get("completed") for w in events.of("window", 1)))
    opened = [w for w in events.of("window", 1) if "scheduled" in w]
    assert opened and all("within" in w for w in opened)  # slo_s given: within counted
    assert opened[0]["t0"] >= changed - 0.1  # no open-loop window from before the change

    n_open = len(opened)
    child.handle({"cmd": "set_rate", "tenant": 1, "rate": None})
    back = time.monotonic()
    events.wait(lambda: len([w for w in events.of("window", 1) if w["t0"] >= back + 0.1]) >= 2)
    _stop(child, events, [1])
    late = [w for w in events.of("window", 1) if w["t0"] >= back + 0.1]
    assert late and all("scheduled" not in w for w in late)  # closed loop again
    assert sum(w["batches"] for w in late) > 0
    assert len([w for w in events.of("window", 1) if "scheduled" in w]) >= n_open


def _record_policies(monkeypatch):
    """The scheduling policy of the tenant thread as each query starts (taken off its queue)
    and as each batch runs."""
    seen = {"start": [], "batch": []}
    started, step = child_loop.Tenant._started, child_loop.Tenant._step

    def at_start(tenant, now, scheduled):
        seen["start"].append(os.sched_getscheduler(0))
        started(tenant, now, scheduled)

    def at_batch(tenant, x):
        seen["batch"].append(os.sched_getscheduler(0))
        return step(tenant, x)

    monkeypatch.setattr(child_loop.Tenant, "_started", at_start)
    monkeypatch.setattr(child_loop.Tenant, "_step", at_batch)
    return seen


def test_rt_tenant_waits_at_realtime_priority_and_runs_its_batches_at_its_own(monkeypatch):
    """rt=on (slot_wait.py): the tenant thread is SCHED_FIFO when each query starts (it waited
    for the slot at real-time priority) and SCHED_OTHER whenever a batch runs, warm-up and
    closed loop included; a tenant without rt never leaves SCHED_OTHER."""
    refusal = slot_wait.realtime_refusal()
    assert refusal is None, "this test needs real-time priority (CAP_SYS_NICE, as root here): " + refusal
    seen = _record_policies(monkeypatch)
    child, events = _child({"*": {"batch_s": 0.02, "from_start": True}})
    _start(child, 1, 0.1, rate=20.0, arrival="constant", rt=True)
    events.wait(lambda: len(seen["start"]) >= 8)
    assert set(seen["start"]) == {os.SCHED_FIFO}
    assert set(seen["batch"]) == {os.SCHED_OTHER}
    # back to closed loop: its batches at the thread's own policy, none raised
    n = len(seen["batch"])
    child.handle({"cmd": "set_rate", "tenant": 1, "rate": None})
    events.wait(lambda: len(seen["batch"]) >= n + 20)
    assert set(seen["batch"]) == {os.SCHED_OTHER}
    # and open loop again without rt (set_rate carries it): never raised
    n = len(seen["start"])
    child.handle({"cmd": "set_rate", "tenant": 1, "rate": 20.0, "arrival": "constant", "seed": None,
                  "queue": None, "slo_s": None, "trace": None, "rt": None})
    events.wait(lambda: len(seen["start"]) >= n + 5)
    _stop(child, events, [1])
    assert set(seen["start"][n:]) == {os.SCHED_OTHER}
    assert set(seen["batch"]) == {os.SCHED_OTHER}
    assert not events.of("failed", 1)


def test_rt_tenant_fails_with_the_reason_when_the_os_refuses(monkeypatch):
    """Permission lost after the controller's check (placement.py asks first): the tenant
    fails with the OS's refusal, it does not run on at normal priority unannounced."""
    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(slot_wait.os, "sched_setscheduler", refuse)
    child, events = _child({"*": {"batch_s": 0.02, "from_start": True}})
    _start(child, 1, 0.1, rate=20.0, arrival="constant", rt=True)
    events.wait(lambda: events.of("failed", 1))
    reason = events.of("failed", 1)[0]["reason"]
    assert "rt=on: the OS refused real-time priority (Operation not permitted)" in reason
    assert "CAP_SYS_NICE" in reason
    child.exiting = True


def test_rt_waiting_spins_at_most_its_share_of_the_time():
    """At 2,000 slots a second an rt tenant would spin all the time at real-time priority;
    the waiter spins through at most SPIN_SHARE of the time (plus the spin under way) and
    sleeps to the other slots."""
    waiter = slot_wait.SlotWaiter(rt=True)
    wake = threading.Event()
    began = time.monotonic()
    due = began
    try:
        for n in range(400):
            due = began + n / 2000.0
            waiter.wait(wake, due)
    finally:
        waiter.normal()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    elapsed = time.monotonic() - began
    assert waiter.spun <= slot_wait.SPIN_SHARE * elapsed + slot_wait.SPIN_S
    assert waiter.spun > 0  # and it does spin while within its share
