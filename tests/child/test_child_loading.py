"""Loading many thread tenants in one runner (issue 13), driven in this process with the
oracle's backends (a model load of a known time, no framework): the tenants load and warm
up first and run after, so a load never competes with the inference loops of the tenants
loaded before it; the images are decoded once per process; a tenant stopped while it
waits for the others to load stops without running."""
import sys
import threading

from child_harness import CHILD_DIR

sys.path.insert(0, str(CHILD_DIR))
import child_loop  # noqa: E402
from oracle.oracle_child import OracleBackends  # noqa: E402
from test_child_loop import Events  # noqa: E402


class CountingBackends(OracleBackends):
    def __init__(self, config):
        super().__init__(config)
        self.image_loads = 0
        self.lock = threading.Lock()

    def load_images(self, folder, size):
        with self.lock:
            self.image_loads += 1
        return super().load_images(folder, size)


def start(child, tid, model="m"):
    spec = dict(model=model, resource="cpu", batch=1, window_s=0.1, warmup_batches=1)
    assert child.handle({"cmd": "start", "tenant": tid, "spec": spec})


def test_tenants_load_first_then_run_and_share_their_images():
    backends = CountingBackends({"models": {"*": {"batch_s": 0.005, "load_s": 0.05}}})
    events = Events()
    child = child_loop.Child(events, lambda *a, **k: None, framework="tflite", exit_fn=lambda code: None,
                             backends=backends)
    child.reporter.start()
    n = 20
    for tid in range(1, n + 1):
        start(child, tid)
    events.wait(lambda: len(events.of("warm")) == n)
    events.wait(lambda: sum(w["batches"] for w in events.of("window")) >= n)  # they all run
    with events.lock:
        order = list(events.all)
    last_warm = max(i for i, e in enumerate(order) if e["ev"] == "warm")
    assert sum(1 for e in order if e["ev"] == "loaded") == n
    # no tenant's loop ran a counted batch before the last one was warm
    assert all(e["batches"] == 0 for e in order[:last_warm] if e["ev"] == "window")
    assert backends.image_loads == 1
    for tid in range(1, n + 1):
        child.handle({"cmd": "stop", "tenant": tid})
    events.wait(lambda: len(events.of("stopped")) == n)
    child.exiting = True


def test_a_tenant_stopped_while_others_load_stops_without_running():
    backends = CountingBackends({"models": {"*": {"batch_s": 0.005, "load_s": 0.01}}})
    events = Events()
    child = child_loop.Child(events, lambda *a, **k: None, framework="tflite", exit_fn=lambda code: None,
                             backends=backends)
    child.reporter.start()
    child.load_started()  # another tenant is loading (a slow model)
    start(child, 1)
    start(child, 2)
    events.wait(lambda: events.of("warm", 1))
    events.wait(lambda: events.of("warm", 2))
    child.handle({"cmd": "stop", "tenant": 1})
    events.wait(lambda: events.of("stopped", 1), timeout=5)
    assert not any(w["batches"] for w in events.of("window"))  # both wait for the load in progress
    child.load_done()  # the slow load ends: tenant 2 runs
    events.wait(lambda: any(w["batches"] for w in events.of("window", 2)), timeout=10)
    assert not any(w["batches"] for w in events.of("window", 1))
    child.handle({"cmd": "stop", "tenant": 2})
    events.wait(lambda: events.of("stopped", 2))
    child.exiting = True


def test_a_reporter_pass_is_one_write():
    """The windows of one reporter pass leave in one write (2,000 tenants' windows written
    one by one were spread over seconds, and the last tenants looked silent)."""
    import io
    import json

    import wire
    from child_io import Emitter

    class Counting(io.StringIO):
        writes = 0

        def write(self, s):
            Counting.writes += 1
            return super().write(s)

    out = Counting()
    child = child_loop.Child(Emitter(out), lambda *a, **k: None, framework="tflite", exit_fn=lambda code: None,
                             backends=CountingBackends({}))
    windows = [dict(tenant=i, t0=1.0, t1=2.0, images=3, batches=3, batch=1, hist={}, late=0) for i in range(500)]
    child.emit_windows(windows)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    # and in one line, decoded once by the controller (not 500 lines of one window each)
    assert Counting.writes == 1 and len(lines) == 1 and lines[0]["ev"] == "windows"
    got = wire.unpack_windows(lines[0])
    assert got == windows


def test_a_pass_of_closed_and_open_loop_windows_is_one_line_per_set_of_keys():
    """Rows of one ``windows`` line share their keys: closed-loop windows, open-loop ones
    and open-loop ones with ``within`` go in three lines, each tenant's windows in order,
    and unpack to the very window events."""
    import wire

    closed = [dict(tenant=t, t0=k, t1=k + 1, images=k, batches=k, batch=1, hist={"3": k}, late=0)
              for k in range(3) for t in (1, 2)]
    open_loop = [dict(closed[0], tenant=3, t0=k, scheduled=k, dropped=0, started=k, completed=k, queue=0,
                      lag_sum=0.0, lag_max=0.0, lag_hist={}, qhist={}) for k in range(3)]
    slo = [dict(w, tenant=4, within=1) for w in open_loop]
    windows = [w for trio in zip(closed[::2], open_loop, slo, closed[1::2]) for w in trio]
    lines = [wire.decode(x) for x in wire.encode_windows(windows).splitlines()]
    assert [x["ev"] for x in lines] == ["windows"] * 3
    got = [w for x in lines for w in wire.unpack_windows(x)]
    assert sorted(got, key=lambda w: (w["tenant"], w["t0"])) == sorted(windows, key=lambda w: (w["tenant"], w["t0"]))
    for tid in (1, 2, 3, 4):
        assert [w for w in got if w["tenant"] == tid] == [w for w in windows if w["tenant"] == tid]
