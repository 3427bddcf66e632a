"""What edgemt's tenant machinery costs: an edgemt tenant against a bare framework loop.

For each framework, the same model, batch and thread count run (a) as a bare loop written
here, independently of edgemt's child code, and (b) as one edgemt tenant (`edgemt run
--json`), alternating A B A B in one run so machine noise hits both alike. Prints a
table and `ratio=` (edgemt / bare, median of the rounds) per framework.
Goal: ratio >= 0.97.

Usage: .venv/bin/python bench/overhead.py [--frameworks torch,tflite,tensorflow,mxnet,onnxruntime]
       [--seconds 8] [--rounds 2] [--model mobilenet_v2] [--threads 2] [--resource cpu]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Independent bare loops: build the model, one fixed batch on the device, warm up for
# WARM seconds (an edgemt tenant's measurement starts at the first whole window after its
# warm-up, so both skip the slow first calls), then count images for SECONDS. Written
# without edgemt's code on purpose.
WARM_S = 1.5
BARE = {
    "torch": r"""
import sys, time, torch, torchvision, timm
name, batch, threads, secs, dev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
if name == "mobilenet_v1":
    m = timm.create_model("mobilenetv1_100", pretrained=False)
elif name == "inception_v3":
    m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
else:
    m = getattr(torchvision.models, name)(weights=None)
m = m.eval().to(dev)
size = 299 if name == "inception_v3" else 224
x = torch.randn(batch, 3, size, size, device=dev)
sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
with torch.inference_mode():
    w0 = time.monotonic()
    while time.monotonic() - w0 < WARM:
        m(x); sync()
    n = 0; t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        m(x); sync(); n += batch
    print(n / (time.monotonic() - t0))
""",
    "tflite": r"""
import sys, time, numpy as np
from ai_edge_litert.interpreter import Interpreter
name, batch, threads, secs, dev, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
it = Interpreter(model_path=path, num_threads=threads)
it.allocate_tensors()
inp = it.get_input_details()[0]
x = np.random.RandomState(0).randint(-128, 127, size=inp["shape"]).astype(inp["dtype"])
it.set_tensor(inp["index"], x)
w0 = time.monotonic()
while time.monotonic() - w0 < WARM:
    it.invoke()
n = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    it.invoke(); n += int(inp["shape"][0])
print(n / (time.monotonic() - t0))
""",
    "tensorflow": r"""
import sys, time, tensorflow as tf
name, batch, threads, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
ctor = {"mobilenet_v2": tf.keras.applications.MobileNetV2, "mobilenet_v1": tf.keras.applications.MobileNet,
        "resnet50": tf.keras.applications.ResNet50, "inception_v3": tf.keras.applications.InceptionV3}[name]
size = 299 if name == "inception_v3" else 224
m = ctor(weights=None, input_shape=(size, size, 3))
f = tf.function(lambda x: m(x, training=False))
x = tf.random.uniform((batch, size, size, 3))
w0 = time.monotonic()
while time.monotonic() - w0 < WARM:
    f(x).numpy()
n = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    f(x).numpy(); n += batch
print(n / (time.monotonic() - t0))
""",
    "mxnet": r"""
import os, sys, time
name, batch, threads, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
os.environ["OMP_NUM_THREADS"] = str(threads)
import mxnet as mx
zoo = {"mobilenet_v2": "mobilenetv2_1.0", "mobilenet_v1": "mobilenet1.0", "resnet50": "resnet50_v1",
       "inception_v3": "inceptionv3", "squeezenet1_0": "squeezenet1.0", "resnet18": "resnet18_v1"}
net = mx.gluon.model_zoo.vision.get_model(zoo.get(name, name), pretrained=False)
net.initialize(ctx=mx.cpu())
net.hybridize(static_alloc=True, static_shape=True)
size = 299 if name == "inception_v3" else 224
x = mx.nd.random.uniform(shape=(batch, 3, size, size), ctx=mx.cpu())
w0 = time.monotonic()
while time.monotonic() - w0 < WARM:
    net(x).wait_to_read()
n = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    net(x).wait_to_read(); n += batch
print(n / (time.monotonic() - t0))
""",
    # the prepared fp32 file (edgemt models prepare onnx); the session as a user would make it
    # for threads=N, spinning off as edgemt's tenants have it, so both do the same work
    "onnxruntime": r"""
import sys, time, numpy as np, onnxruntime as ort
name, batch, threads, secs, dev, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.add_session_config_entry("session.intra_op.allow_spinning", "0")
s = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
inp = s.get_inputs()[0]
size = 299 if name == "inception_v3" else 224
x = np.random.RandomState(0).rand(batch, 3, size, size).astype(np.float32)
w0 = time.monotonic()
while time.monotonic() - w0 < WARM:
    s.run(None, {inp.name: x})
n = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    s.run(None, {inp.name: x}); n += batch
print(n / (time.monotonic() - t0))
""",
}


def bare(framework, python, model, batch, threads, seconds, resource):
    code = f"WARM = {WARM_S}\n" + BARE[framework]
    args = [python, "-c", code, model, str(batch), str(threads), str(seconds), resource]
    if framework == "tflite":
        from runners import paths

        args.append(str(paths.models_dir() / "tflite" / f"{model}_int8.tflite"))
    if framework == "onnxruntime":
        from runners import paths

        args.append(str(paths.models_dir() / "onnx" / f"{model}_fp32.onnx"))
    out = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if out.returncode != 0:
        raise RuntimeError(f"bare {framework} loop failed: {out.stderr.strip().splitlines()[-1:]}")
    return float(out.stdout.strip().splitlines()[-1])


def edgemt(framework, model, batch, threads, seconds, resource, db):
    spec = f"{model},framework={framework},resource={resource},batch={batch},threads={threads}"
    out = subprocess.run([str(Path(sys.executable).parent / "edgemt"), "run", "--tenant", spec, "--duration",
                          str(seconds), "--json", "--db", db], capture_output=True, text=True)
    if out.returncode != 0:
        errors = [t["error"] for t in json.loads(out.stdout)["tenants"]] if out.stdout.strip() else []
        raise RuntimeError(f"edgemt run failed ({out.returncode}): {errors or out.stderr.strip()[-300:]}")
    return json.loads(out.stdout)["total_throughput"]


def main():
    from runners import environments

    ap = argparse.ArgumentParser()
    ap.add_argument("--frameworks", default="torch,tflite,tensorflow,mxnet,onnxruntime")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--resource", default="cpu")
    a = ap.parse_args()
    db = os.path.join(tempfile.mkdtemp(), "overhead.db")
    rows = []
    for fw in a.frameworks.split(","):
        choice = environments.find_python(fw)
        if choice is None:
            print(f"{fw}: no environment (edgemt env create {fw}); skipped")
            continue
        b, e = [], []
        for _ in range(a.rounds):
            b.append(bare(fw, choice.python, a.model, a.batch, a.threads, a.seconds, a.resource))
            e.append(edgemt(fw, a.model, a.batch, a.threads, a.seconds, a.resource, db))
        ratio = statistics.median(e) / statistics.median(b)
        rows.append((fw, statistics.median(b), statistics.median(e), ratio))
        print(f"{fw}: bare {['%.1f' % x for x in b]} edgemt {['%.1f' % x for x in e]} img/s", flush=True)
    print(f"\n{a.model} batch {a.batch}, {a.threads} threads, {a.resource}, {a.seconds:g} s x {a.rounds} rounds (A/B alternating)")
    print(f"{'framework':<11} {'bare img/s':>11} {'edgemt img/s':>13} {'ratio':>7}")
    for fw, bb, ee, r in rows:
        print(f"{fw:<11} {bb:>11.1f} {ee:>13.1f} {r:>7.3f}")
    for fw, _, _, r in rows:
        print(f"ratio={r:.3f} framework={fw}")


if __name__ == "__main__":
    main()
