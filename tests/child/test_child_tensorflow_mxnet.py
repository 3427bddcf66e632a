"""Real tensorflow and mxnet children on the CPU; probes of every framework."""
import json
import subprocess

import pytest

from child_harness import CHILD_DIR, python_for, run_in_env


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "tflite", "mxnet"])
def test_probe_says_hello(framework):
    proc = subprocess.run([python_for(framework), "-u", str(CHILD_DIR), "--framework", framework, "--probe"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1  # nothing but the hello line, framework noise went to stderr
    hello = json.loads(lines[0])
    assert hello["ev"] == "hello" and hello["framework"] == framework
    assert "cpu" in hello["devices"]
    assert hello["framework_version"] and hello["numpy"] and hello["python"].startswith("3.")
    assert hello["runtime"]


def test_tensorflow_mobilenet_v2_windows(child_factory):
    c = child_factory("tensorflow")
    assert c.wait_ev("hello")["framework_version"].startswith("2.")
    c.start("t", model="mobilenet_v2", batch=2)
    loaded = c.wait_ev("loaded", "t", timeout=120)
    assert loaded["weights"] in ("random", "pretrained")
    for w in c.windows("t", 2, pred=lambda w: w["images"] > 0):
        assert w["batch"] == 2 and w["images"] == 2 * w["batches"]
        assert sum(w["hist"].values()) == w["batches"]


def test_tensorflow_thread_isolation_two_tenants(child_factory):
    """edgemt allows TF tenants as threads: each has its own Keras model and tf.function."""
    c = child_factory("tensorflow")
    c.start("a", model="mobilenet_v2")
    c.start("b", model="squeezenet1_0")
    c.windows("a", 2, timeout=120, pred=lambda w: w["images"] > 0)
    c.windows("b", 2, timeout=120, pred=lambda w: w["images"] > 0)


def test_tensorflow_keras_file(child_factory, tmp_path):
    path = tmp_path / "tiny.keras"
    run_in_env(
        "tensorflow",
        "import keras\n"
        "i = keras.Input((224, 224, 3)); x = keras.layers.Conv2D(4, 3, strides=4)(i)\n"
        "x = keras.layers.GlobalAveragePooling2D()(x)\n"
        f"keras.Model(i, keras.layers.Dense(10)(x)).save({str(path)!r})\n",
    )
    c = child_factory("tensorflow")
    c.start("k", framework="tensorflow", file=str(path), model=None)
    assert c.wait_ev("loaded", "k", timeout=120)["weights"] == "file"
    c.windows("k", 1, pred=lambda w: w["images"] > 0)


def test_own_keras_definitions_match_table_1():
    out = run_in_env(
        "tensorflow",
        "import json, backend_tf_models as m\n"
        "print(json.dumps({k: f().count_params() for k, f in m.OWN.items()}))\n",
        timeout=300,
    )
    counts = json.loads(out)
    table_1 = {"alexnet": 61.1e6, "resnet18": 11.7e6, "squeezenet1_0": 1.25e6, "densenet161": 28.7e6}
    for name, want in table_1.items():
        assert counts[name] == pytest.approx(want, rel=0.03), name


def test_mxnet_mobilenet_v2_windows(child_factory):
    c = child_factory("mxnet")
    hello = c.wait_ev("hello")
    assert hello.get("deferred_import") is True  # imported at the first start (autotune)
    c.start("m", model="mobilenet_v2", autotune=False)
    loaded = c.wait_ev("loaded", "m", timeout=120)
    assert loaded["autotune"] == "0" and loaded["weights"] == "random"
    for w in c.windows("m", 2, pred=lambda w: w["images"] > 0):
        assert w["batch"] == 1 and sum(w["hist"].values()) == w["batches"]
