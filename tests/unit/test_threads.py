"""Oversubscription (runners/threads.py) and where it is said: level results, run summaries
(issue 11, defect 11)."""
import asyncio

from fake_supervisor import FakeSupervisor, FakeTenant
from runners import threads
from runners.experiments.common import Context, measure_level
from runners.spec import TenantSpec
from storage.store import Store


def t(fw="torch", threads_=None, isolation="process", group=1, resource="cpu"):
    return {"framework": fw, "resource": resource, "isolation": isolation, "threads": threads_, "group": group}


def test_default_threads_add_up_per_pool():
    # two torch tenants with the default threads on 2 cores: 2 pools of 2 threads
    over = threads.oversubscription([t(), t()], cores=2)
    assert over["message"] == "4 intra-op threads on 2 cores" and "threads=1" in over["advice"]
    assert threads.oversubscription([t()], cores=2) is None
    assert threads.oversubscription([t(threads_=1), t(threads_=1)], cores=2) is None
    # thread isolation: torch's pool is process-wide, the group's tenants share it
    assert threads.oversubscription([t(isolation="thread"), t(isolation="thread")], cores=2) is None
    # tflite: one thread an interpreter by default, each its own
    assert threads.oversubscription([t("tflite", isolation="thread")] * 2, cores=2) is None
    three = threads.oversubscription([t("tflite", isolation="thread")] * 3, cores=2)
    assert three["threads"] == 3 and "more CPU tenants than cores" in three["advice"]  # threads=1 already
    # a GPU tenant computes on its device
    assert threads.oversubscription([t(resource="cuda:0"), t()], cores=2) is None
    assert threads.oversubscription([t("mxnet"), t("tensorflow", threads_=4)], cores=4)["message"] == \
        "8 intra-op threads on 4 cores"


def test_a_level_says_it_was_oversubscribed(tmp_path):
    a, b = FakeTenant(1, [50]), FakeTenant(2, [50])
    store = Store(tmp_path / "e.db")
    run = store.create_run("test", {}, {})
    ctx = Context(sup=FakeSupervisor([a, b], window_s=0.1), store=store, run_id=run, experiment="test",
                  duration=0.2, cores=2)
    r = asyncio.run(measure_level(ctx, [a, b]))
    assert r["ok"] and r["oversubscription"] == "4 intra-op threads on 2 cores" and "threads=1" in r["advice"]
    for x in (a, b):
        x.spec = TenantSpec("mobilenet_v2", "torch", "cpu", 1, 1, "process", threads=1)
    r = asyncio.run(measure_level(ctx, [a, b]))
    assert r["oversubscription"] is None


def test_a_level_that_failed_says_it_was_oversubscribed_too(tmp_path):
    a, b = FakeTenant(1, [50]), FakeTenant(2, [0], batches=0)  # b completes no batch
    store = Store(tmp_path / "e.db")
    run = store.create_run("test", {}, {})
    ctx = Context(sup=FakeSupervisor([a, b], window_s=0.1), store=store, run_id=run, experiment="test",
                  duration=0.2, cores=2)
    r = asyncio.run(measure_level(ctx, [a, b]))
    assert r["ok"] is False and r["oversubscription"] == "4 intra-op threads on 2 cores"
