"""Real tflite children (LiteRT on the CPU) on a mobilenet_v2 int8 model prepared once."""
import json
import subprocess
import sys

from child_harness import CHILD_DIR, prepare_tflite, python_for

MB2 = dict(model="mobilenet_v2", framework="tflite")


def test_batch_1_then_batch_4(child_factory, tflite_models_dir):
    c = child_factory("tflite")
    hello = c.wait_ev("hello")
    assert hello["runtime"] in ("ai_edge_litert", "tflite_runtime", "tensorflow.lite")
    c.start("t", batch=1, models_dir=str(tflite_models_dir), threads=1, **MB2)
    loaded = c.wait_ev("loaded", "t")
    assert loaded["runtime"] == hello["runtime"] and loaded["input_dtype"] == "int8"
    w = c.windows("t", 2, pred=lambda w: w["images"] > 0)[-1]
    assert w["batch"] == 1 and sum(w["hist"].values()) == w["batches"]
    c.send(cmd="set_batch", tenant="t", batch=4)
    w = c.wait_for(lambda e: e["ev"] == "window" and e["tenant"] == "t" and e["images"] > 0 and
                   (e["batch"] == 4 or any(x["ev"] == "batch_clamped" for x in c.events)), 30, "batch 4 window")
    clamps = [e for e in c.events if e["ev"] == "batch_clamped"]
    if clamps:  # a model that cannot be resized: clamped, and windows say the batch used
        assert clamps[0]["asked"] == 4 and clamps[0]["used"] == 1 and clamps[0]["reason"]
        assert w["batch"] == 1
    else:
        assert w["batch"] == 4 and w["images"] == 4 * w["batches"]


def test_larger_batch_at_start(child_factory, tflite_models_dir):
    c = child_factory("tflite")
    c.start("t", batch=4, models_dir=str(tflite_models_dir), **MB2)
    loaded = c.wait_ev("loaded", "t")
    w = c.windows("t", 1, pred=lambda w: w["images"] > 0)[0]
    assert w["batch"] == loaded["batch"]
    assert w["images"] == w["batch"] * w["batches"]


def test_edgetpu_without_libedgetpu_fails_with_the_delegate_message(child_factory, tflite_models_dir):
    c = child_factory("tflite")
    c.start("ok", models_dir=str(tflite_models_dir), **MB2)
    c.start("tpu", resource="edgetpu:usb:0", models_dir=str(tflite_models_dir), **MB2)
    failed = c.wait_ev("failed", "tpu")
    assert "libedgetpu.so.1" in failed["reason"] and "usb:0" in failed["reason"]
    c.windows("ok", 1, pred=lambda w: w["images"] > 0)


def test_non_model_file_fails(child_factory, tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    c = child_factory("tflite")
    c.start("j", file=str(junk), **MB2)
    assert "is not a TFLite model" in c.wait_ev("failed", "j")["reason"]


def test_missing_prepared_model_names_the_fix(child_factory, tmp_path):
    c = child_factory("tflite")
    c.start("m", models_dir=str(tmp_path), model="inception_v3", framework="tflite")
    assert "edgemt models prepare tflite inception_v3" in c.wait_ev("failed", "m")["reason"]


def test_prepare_is_cached(tflite_models_dir):
    out = prepare_tflite(["mobilenet_v2"], tflite_models_dir / "tflite")
    line = json.loads(out.strip().splitlines()[-1])
    assert line["cached"] is True and line["size_bytes"] > 1_000_000
    assert line["path"].endswith("mobilenet_v2_int8.tflite")


def test_prepare_without_compiler_exits_2(tmp_path):
    # checked before TensorFlow is imported, so any python runs it
    proc = subprocess.run(
        [sys.executable, str(CHILD_DIR / "prepare_tflite.py"), "--out", str(tmp_path), "--edgetpu",
         "--compiler", str(tmp_path / "no-such-compiler"), "mobilenet_v2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "edgetpu_compiler not found" in proc.stderr and "apt-get install edgetpu-compiler" in proc.stderr
    assert proc.stdout == ""


def test_probe_lists_cpu():
    out = subprocess.run([python_for("tflite"), "-u", str(CHILD_DIR), "--framework", "tflite", "--probe"],
                         stdout=subprocess.PIPE, text=True, timeout=60)
    assert out.returncode == 0
    hello = json.loads(out.stdout)
    assert hello["devices"] == ["cpu"] and hello["framework_version"]


def test_a_batch_that_does_not_fit_in_memory_fails_instead_of_running_as_batch_1(child_factory, tflite_models_dir):
    # Issue 11, defect 3: any failure to resize (out of memory included) became a clamp to
    # batch 1, and the batch asked for was then reported with batch 1's figures.
    import resource

    c = child_factory("tflite")
    c.start("t", batch=1, models_dir=str(tflite_models_dir), threads=1, **MB2)
    c.windows("t", 1, pred=lambda w: w["images"] > 0)
    with open(f"/proc/{c.proc.pid}/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    limit = vm + 60 * 2 ** 20  # room for a small batch, not for batch 256 (~100 MB of int8 activations)
    resource.prlimit(c.proc.pid, resource.RLIMIT_AS, (limit, limit))
    c.send(cmd="set_batch", tenant="t", batch=256)
    ev = c.wait_for(lambda e: e["ev"] in ("failed", "batch_clamped") and e.get("tenant") == "t", 60, "failed")
    assert ev["ev"] == "failed", ev
    assert "batch 256 does not run" in ev["reason"] and "the model runs batch 2" in ev["reason"], ev["reason"]
