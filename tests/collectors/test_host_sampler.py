"""Host collector on this machine, and the sampler: rate, callback, containment."""
import threading
import time

import pytest

from collectors import Collector, Metric, Sampler, Snapshot, default_collectors, describe
from collectors.host import HostCollector


def test_host_returns_real_numbers_here():
    host = HostCollector()
    t0 = time.monotonic()
    ok, detail = host.available()
    assert ok, detail
    # burn 0.2 s of this process's CPU (not of the wall clock: a loaded machine may give it
    # a small share of one) so the controller's own share is above zero
    cpu_end = time.process_time() + 0.2
    while time.process_time() < cpu_end:
        pass
    m = host.sample()
    elapsed = time.monotonic() - t0
    v = {k: x.value for k, x in m.items() if x.value is not None}
    assert 0 <= v["cpu_percent"] <= 100
    assert "cpu0_percent" in v
    assert v["mem_total_mb"] > 100 and 0 < v["mem_used_mb"] < v["mem_total_mb"]
    assert v["controller_rss_mb"] > 1
    # we just spun for 0.2 s of CPU within `elapsed` s (the collector's interval lies inside
    # it); 0.18: the kernel counts CPU time in ticks
    assert v["controller_cpu_percent"] > 100 * 0.18 / elapsed, (v["controller_cpu_percent"], elapsed)
    assert v["disk_read_bytes_s"] >= 0 and v["net_recv_bytes_s"] >= 0
    for k, metric in m.items():
        assert metric.name == k
        assert (metric.value is None) == (metric.reason is not None), k


def test_host_disks_are_whole_devices_from_sysfs(tmp_path):
    (tmp_path / "block" / "vda").mkdir(parents=True)
    host = HostCollector(sysfs_root=tmp_path)
    assert host._block_devices(["vda", "vda1", "loop0"]) == ["vda"]


def test_host_governor_info_from_sysfs(tmp_path):
    # layout as Documentation/admin-guide/pm/cpufreq.rst describes it
    for i in range(2):
        d = tmp_path / f"devices/system/cpu/cpu{i}/cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_governor").write_text("schedutil\n")
    assert HostCollector(sysfs_root=tmp_path).info()["cpu_governor"] == "schedutil"


def test_probe_is_cached():
    calls = []

    class C(Collector):
        name = "c"

        def _probe(self):
            calls.append(1)
            return True, "fine"

        def _sample(self):
            return {"x_percent": Metric("x_percent", 1.0, "%")}

    c = C()
    for _ in range(3):
        assert c.available() == (True, "fine")
        c.sample()
    assert calls == [1]


class Exploding(Collector):
    name = "boom"

    def __init__(self, fail_after=0):
        super().__init__()
        self.n = 0
        self.fail_after = fail_after

    def _sample(self):
        self.n += 1
        if self.n > self.fail_after:
            raise RuntimeError("sensor fell off")
        return {"boom_c": Metric("boom_c", 40.0, "C")}


def test_raising_sample_is_contained():
    c = Exploding(fail_after=1)
    assert c.sample()["boom_c"].value == 40.0
    m = c.sample()["boom_c"]
    assert m.value is None and m.reason == "RuntimeError: sensor fell off"
    # a collector that never produced anything reports one error metric
    m2 = Exploding().sample()
    assert m2["boom_error"].value is None and "sensor fell off" in m2["boom_error"].reason


def test_raising_probe_is_not_available():
    class BadProbe(Collector):
        name = "bad"

        def _probe(self):
            raise OSError("no such bus")

    c = BadProbe()
    assert c.available() == (False, "OSError: no such bus")
    assert c.sample() == {}


def test_sampler_rate_callback_and_history():
    got = []
    seen = threading.Event()

    def cb(s):
        got.append(s)
        if len(got) >= 3:
            seen.set()

    with Sampler([HostCollector(), Exploding()], hz=20, on_snapshot=cb, history=5) as s:
        t0 = time.monotonic()
        assert seen.wait(5)
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    n = len(got)
    # 20 Hz for ~0.5-0.6 s: about 10-12 samples, allow slack for a loaded CI box
    assert 6 <= n <= 20 * elapsed + 3, (n, elapsed)
    assert all(isinstance(x, Snapshot) for x in got)
    ts = [x.t for x in got]
    assert ts == sorted(ts)
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert 0.03 < sorted(gaps)[len(gaps) // 2] < 0.08  # median period near 50 ms
    assert len(s.history()) == 5 and s.history(2) == s.history()[-2:]
    assert s.latest is got[-1]
    last = s.latest
    assert last.metrics["boom_error"].value is None  # contained, not raised
    assert "cpu_percent" in last.values() and "boom_error" not in last.values()
    assert not s.running


def test_sampler_survives_a_raising_callback():
    def cb(_):
        raise ValueError("consumer bug")

    s = Sampler([HostCollector()], hz=50, on_snapshot=cb)
    s.start()
    # polled, not slept: on a loaded machine the sampler's thread may not run for 0.2 s
    end = time.monotonic() + 30
    while s.samples_taken < 3 and s.running and time.monotonic() < end:
        time.sleep(0.02)
    assert s.running  # the raising callback did not stop it
    s.stop()
    assert s.samples_taken >= 3


def test_describe_lists_everything():
    cols = default_collectors()
    rows = describe(cols)
    assert [r[0] for r in rows] == [c.name for c in cols]
    for name, ok, why in rows:
        assert isinstance(ok, bool) and isinstance(why, str)
        if not ok:
            assert why, name
    assert ("host", True) == rows[0][:2]


def test_invalid_hz():
    with pytest.raises(ValueError):
        Sampler([], hz=0)


def test_ticks_lie_on_the_grid_of_the_runs_epoch():
    # windows are on epoch + k * window_s: sampling ticks on epoch + k / hz put each
    # sample's interval (previous tick, tick] inside one window
    from collectors.sampler import next_tick

    assert next_tick(1.0, 0.3, 0.5) == pytest.approx(1.3)
    assert next_tick(1.3, 0.3, 0.5) == pytest.approx(1.3)
    assert next_tick(0.1, 0.3, 0.5) == pytest.approx(0.3)
    offset = time.monotonic() - 1.0  # a clock that reads 1.0 now
    got = []
    done = threading.Event()

    def cb(snap):
        got.append(snap.t)
        done.set()

    s = Sampler([], hz=2, on_snapshot=cb, clock=lambda: time.monotonic() - offset, epoch=0.3)
    s.start()
    assert done.wait(5)
    s.stop()
    assert got[0] >= 1.3 - 1e-6  # the first tick waits for the grid, it does not start at 1.0
