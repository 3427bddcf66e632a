"""One batch of every supported (model, framework) pair on the CPU, through real children."""
import time

import pytest

import runners.child.latency as latency
from child_harness import TEST_MODELS, prepare_tflite
from edgemt_testlib import ensure_onnx_models

MODELS = ("alexnet", "densenet161", "resnet18", "resnet50", "squeezenet1_0", "vgg16",
          "inception_v3", "mobilenet_v1", "mobilenet_v2")
TFLITE = ("inception_v3", "mobilenet_v1", "mobilenet_v2")


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "tensorflow", "mxnet", "tflite", "onnxruntime"])
def test_every_model_runs_one_batch(framework, child_factory):
    models = TFLITE if framework == "tflite" else MODELS
    extra = {}
    if framework == "tflite":
        (TEST_MODELS / "tflite").mkdir(parents=True, exist_ok=True)
        prepare_tflite(list(TFLITE), TEST_MODELS / "tflite")
        extra["models_dir"] = str(TEST_MODELS)
    if framework == "onnxruntime":  # the fp32 files exported from torch (make test prepares them)
        extra["models_dir"] = str(ensure_onnx_models(MODELS))
        extra["threads"] = 1
    c = child_factory(framework)
    c.wait_ev("hello", timeout=120)
    report = []
    for model in models:  # one tenant at a time in the same child: stop must free it
        t0 = time.monotonic()
        c.start(model, model=model, batch=1, warmup_batches=0, window_s=0.25, **extra)
        c.wait_ev("loaded", model, timeout=300)
        w = c.windows(model, 1, timeout=300, pred=lambda w: w["batches"] >= 1)[0]
        assert w["images"] == w["batches"] and sum(w["hist"].values()) == w["batches"]
        c.send(cmd="stop", tenant=model)
        c.wait_ev("stopped", model, timeout=120)
        p50 = latency.percentile(w["hist"], 50)
        report.append(f"{framework:10s} {model:14s} batch-1 <= {p50 * 1000:7.1f} ms  ({time.monotonic() - t0:5.1f} s)")
    print("\n" + "\n".join(report))


def test_onnxruntime_int8_models_run_one_batch(child_factory):
    """The int8 (static QDQ) ONNX files of the study's three TFLite models run on the CPU provider."""
    models_dir = str(ensure_onnx_models(TFLITE, "int8"))
    c = child_factory("onnxruntime")
    c.wait_ev("hello", timeout=120)
    for model in TFLITE:
        c.start(model, model=model, framework="onnxruntime", precision="int8", batch=1, warmup_batches=0,
                window_s=0.25, threads=1, models_dir=models_dir)
        loaded = c.wait_ev("loaded", model, timeout=300)
        assert loaded["precision"] == "int8" and loaded["model_file"].endswith(f"{model}_int8.onnx")
        w = c.windows(model, 1, timeout=300, pred=lambda w: w["batches"] >= 1)[0]
        assert w["images"] == w["batches"]
        c.send(cmd="stop", tenant=model)
        c.wait_ev("stopped", model, timeout=120)
