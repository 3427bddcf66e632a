"""One batch of every supported (model, framework) pair on the CPU, through real children."""
import time

import pytest

import runners.child.latency as latency
from child_harness import TEST_MODELS, prepare_tflite

MODELS = ("alexnet", "densenet161", "resnet18", "resnet50", "squeezenet1_0", "vgg16",
          "inception_v3", "mobilenet_v1", "mobilenet_v2")
TFLITE = ("inception_v3", "mobilenet_v1", "mobilenet_v2")


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "tensorflow", "mxnet", "tflite"])
def test_every_model_runs_one_batch(framework, child_factory):
    models = TFLITE if framework == "tflite" else MODELS
    extra = {}
    if framework == "tflite":
        (TEST_MODELS / "tflite").mkdir(parents=True, exist_ok=True)
        prepare_tflite(list(TFLITE), TEST_MODELS / "tflite")
        extra["models_dir"] = str(TEST_MODELS)
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
