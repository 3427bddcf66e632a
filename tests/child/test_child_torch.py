"""Real torch children on the CPU: windows, thread isolation, batch changes, pause, faults."""
import time

import pytest

import runners.child.latency as latency

# threads=1: two OpenMP threads per tenant on a 2-core machine that other test runs also
# load can slow a batch down by orders of magnitude (barrier spinning)
MB2 = dict(model="mobilenet_v2", threads=1)


def check_window(w, batch):
    assert w["images"] == w["batches"] * w["batch"]
    assert w["batch"] == batch
    assert sum(w["hist"].values()) == w["batches"]
    assert all(0 <= int(k) < latency.N_BUCKETS for k in w["hist"])
    assert w["t1"] > w["t0"]


def test_mobilenet_v2_tenant_reports_windows(child_factory):
    c = child_factory("torch")
    hello = c.wait_ev("hello")
    assert hello["framework"] == "torch" and "cpu" in hello["devices"]
    c.start("t1", batch=2, window_s=0.5, **MB2)
    loaded = c.wait_ev("loaded", "t1")
    assert loaded["weights"] in ("random", "pretrained")
    if loaded["weights"] == "random":
        assert loaded["note"] == "random weights: throughput is valid, labels are not"
    assert loaded["images_used"] == 16 and loaded["images_skipped"] == 0
    warm = c.wait_ev("warm", "t1")
    assert warm["warmup_batches"] == 3
    ws = c.windows("t1", 3)
    ws += c.windows("t1", 1, timeout=120, pred=lambda w: w["images"] > 0)
    for w in ws:
        check_window(w, 2)
        assert w["t0"] >= warm["t"]
    # consecutive grid windows, none missing
    for a, b in zip(ws[:3], ws[1:3]):
        assert b["t0"] == pytest.approx(a["t1"], abs=1e-6)
        assert b["t1"] - b["t0"] == pytest.approx(0.5, abs=1e-6)
    assert sum(w["images"] for w in ws) > 0
    c.send(cmd="stop", tenant="t1")
    c.wait_ev("stopped", "t1")
    c.send(cmd="stop")
    assert c.proc.wait(20) == 0


def test_windows_follow_the_epoch_grid(child_factory):
    c = child_factory("torch")
    c.wait_ev("hello")
    epoch = time.monotonic() - 0.123  # the controller's clock is the same CLOCK_MONOTONIC
    c.start("g", epoch=epoch, window_s=0.4, **MB2)
    w = c.windows("g", 2)[-1]
    k = (w["t0"] - epoch) / 0.4
    assert k == pytest.approx(round(k), abs=1e-4)


def test_two_tenants_in_one_process_both_report(child_factory):
    c = child_factory("torch")
    c.start("a", **MB2)
    c.start("b", model="resnet18", threads=1)
    c.windows("a", 2, pred=lambda w: w["images"] > 0)
    c.windows("b", 2, pred=lambda w: w["images"] > 0)
    pids = {e.get("pid") for e in c.events if e["ev"] == "hello"}
    assert len(pids) == 1


def test_set_batch_changes_later_windows(child_factory):
    c = child_factory("torch")
    c.start("s", batch=1, **MB2)
    check_window(c.windows("s", 1)[0], 1)
    c.send(cmd="set_batch", tenant="s", batch=3)
    w = c.wait_for(lambda e: e["ev"] == "window" and e["tenant"] == "s" and e["batch"] == 3, 60, "batch 3 window")
    check_window(w, 3)
    # every window after the first batch-3 one is batch 3 too
    for w in c.windows("s", 2):
        check_window(w, 3)


def test_pause_stops_windows_and_resume_restarts(child_factory):
    c = child_factory("torch")
    c.start("p", window_s=0.3, **MB2)
    c.windows("p", 1)
    c.send(cmd="pause", tenant="p")
    time.sleep(0.2)  # a window already on its way may arrive
    c.collect(0.3)
    quiet = c.collect(1.5)
    assert [e for e in quiet if e["ev"] == "window"] == []
    c.send(cmd="resume", tenant="p")
    w = c.windows("p", 1, timeout=120, pred=lambda w: w["images"] > 0)[0]
    check_window(w, 1)


def test_failure_of_one_tenant_leaves_the_other_running(child_factory, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a model" * 100)
    c = child_factory("torch")
    c.start("good", **MB2)
    c.windows("good", 1)
    c.start("bad", file=str(garbage), **MB2)
    failed = c.wait_ev("failed", "bad")
    assert "garbage.pt" in failed["reason"] and "neither a TorchScript file nor a state dict" in failed["reason"]
    assert len(failed["reason"]) <= 300
    ws = c.windows("good", 2, timeout=120, pred=lambda w: w["images"] > 0)
    assert all(w["tenant"] == "good" for w in ws)


def test_state_dict_file_and_torchscript_file(child_factory, tmp_path):
    from child_harness import run_in_env

    sd, ts = tmp_path / "sd.pt", tmp_path / "ts.pt"
    run_in_env(
        "torch",
        "import torch, torchvision\n"
        "m = torchvision.models.squeezenet1_0(weights=None).eval()\n"
        f"torch.save(m.state_dict(), {str(sd)!r})\n"
        f"torch.jit.trace(m, torch.zeros(1, 3, 224, 224)).save({str(ts)!r})\n",
    )
    c = child_factory("torch")
    c.start("sd", model="squeezenet1_0", file=str(sd))
    c.start("ts", model="squeezenet1_0", file=str(ts))
    # the two load in whichever order the child's threads take its load lock
    loaded = {}
    while len(loaded) < 2:
        ev = c.wait_for(lambda e: e["ev"] in ("loaded", "failed") and e.get("tenant") in ("sd", "ts"),
                        what="loaded of sd and ts")
        assert ev["ev"] == "loaded", ev
        loaded[ev["tenant"]] = ev
    assert loaded["sd"]["weights"] == "file" and loaded["ts"]["weights"] == "file"
    c.windows("sd", 1)
    c.windows("ts", 1)


def test_unavailable_cuda_fails_with_reason(child_factory):
    c = child_factory("torch")
    hello = c.wait_ev("hello")
    n = sum(1 for d in hello["devices"] if d.startswith("cuda:"))
    c.start("g", resource=f"cuda:{n}", **MB2)
    failed = c.wait_ev("failed", "g")
    assert f"cuda:{n} is not available" in failed["reason"]


def test_stdin_eof_makes_the_child_exit(child_factory):
    c = child_factory("torch")
    c.start("e", **MB2)
    c.windows("e", 1)
    c.proc.stdin.close()
    assert c.proc.wait(15) == 0


def test_stop_without_tenant_stops_all_and_exits(child_factory):
    c = child_factory("torch")
    c.start("x", **MB2)
    c.start("y", **MB2)
    c.windows("x", 1)
    c.windows("y", 1)
    c.send(cmd="stop")
    assert c.proc.wait(20) == 0
    c.collect(0.5)
    stopped = {e["tenant"] for e in c.events if e["ev"] == "stopped"}
    assert stopped == {"x", "y"}


def test_child_exits_when_its_parent_dies(tmp_path):
    """A middle process starts the child and is killed: the child must go too."""
    import os
    import signal
    import subprocess
    import sys

    from child_harness import CHILD_DIR, python_for

    py = python_for("torch")
    pidfile = tmp_path / "pid"
    middle = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         f"p = subprocess.Popen([{py!r}, '-u', {str(CHILD_DIR)!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
         f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
         "p.stdout.readline()\n"
         f"open({str(pidfile)!r} + '.ok', 'w').write('1')\n"
         "time.sleep(60)\n"],
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid.ok").exists():
        assert time.monotonic() < deadline, "child never said hello"
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    break  # a zombie: it exited, only not yet reaped
        except (ProcessLookupError, FileNotFoundError):
            break
        assert time.monotonic() < deadline, "child outlived its parent"
        time.sleep(0.1)


def test_oom_score_adj_is_raised(child_factory):
    c = child_factory("torch")
    hello = c.wait_ev("hello")
    with open(f"/proc/{hello['pid']}/oom_score_adj") as f:
        assert int(f.read()) >= 500


def test_pretrained_weights_from_the_hub_cache(child_factory, tmp_path):
    """A weights file where torchvision keeps its downloads is used (and nothing is downloaded)."""
    from child_harness import run_in_env

    run_in_env(
        "torch",
        "import os, torch, torchvision\n"
        "from torchvision.models import get_model_weights\n"
        f"os.environ['TORCH_HOME'] = {str(tmp_path)!r}\n"
        "d = os.path.join(torch.hub.get_dir(), 'checkpoints'); os.makedirs(d)\n"
        "name = os.path.basename(get_model_weights('squeezenet1_0').DEFAULT.url)\n"
        "torch.save(torchvision.models.squeezenet1_0(weights=None).state_dict(), os.path.join(d, name))\n",
    )
    c = child_factory("torch", env={"TORCH_HOME": str(tmp_path)})
    c.start("w", model="squeezenet1_0")
    loaded = c.wait_ev("loaded", "w")
    assert loaded["weights"] == "pretrained" and loaded["note"] is None
    assert loaded["weights_file"].startswith(str(tmp_path))
    c.start("r", model="resnet18")  # no file for it in this hub folder
    assert c.wait_ev("loaded", "r")["weights"] == "random"


def test_include_transfer_and_threads(child_factory):
    c = child_factory("torch")
    c.start("x", include_transfer=True, **MB2)
    loaded = c.wait_ev("loaded", "x")
    assert "process-wide" in loaded["threads_note"]
    check_window(c.windows("x", 1, pred=lambda w: w["images"] > 0)[0], 1)
