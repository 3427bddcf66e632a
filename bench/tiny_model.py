"""A tiny TFLite model for the scale benchmarks: average pool + dense, about 3 KB.

Input 1x32x32x3 float32 -> AveragePooling2D(8) -> 4x4x3 -> Flatten -> Dense(10, softmax).
It does almost no arithmetic, so thousands of tenants of it measure what edgemt itself
costs per tenant (loading, threads, the GIL, the controller), not what a model costs.

Made once with Keras in the tensorflow environment (``edgemt env create tensorflow``) and
cached beside the prepared models: ``<models>/tflite/tiny_avgpool_dense.tflite``.

  .venv/bin/python bench/tiny_model.py      # prints the path (makes it if missing)
  SPEC: framework=tflite,isolation=thread,threads=1,file=<that path>,size=32
"""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NAME = "tiny_avgpool_dense.tflite"

MAKE = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
tf.keras.utils.set_random_seed(0)
m = tf.keras.Sequential([
    tf.keras.Input(shape=(32, 32, 3), batch_size=1),
    tf.keras.layers.AveragePooling2D(pool_size=8),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation="softmax"),
])
conv = tf.lite.TFLiteConverter.from_keras_model(m)
data = conv.convert()
tmp = sys.argv[1] + ".part"
with open(tmp, "wb") as fh:
    fh.write(data)
os.replace(tmp, sys.argv[1])
print(len(data))
"""


def tiny_model_path() -> Path:
    from runners import paths

    return paths.models_dir() / "tflite" / NAME


def ensure_tiny_model() -> Path:
    """The cached tiny model, made with the tensorflow environment's python if missing."""
    path = tiny_model_path()
    if path.exists():
        return path
    from runners.environments import require_python

    python = require_python("tensorflow").python
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-c", MAKE, str(path)], check=True, capture_output=True, timeout=600)
    return path


def tiny_spec(count: int, procs: int = None) -> str:
    spec = f"framework=tflite,count={count},isolation=thread,threads=1,file={ensure_tiny_model()},size=32"
    return spec + (f",procs={procs}" if procs else "")


if __name__ == "__main__":
    p = ensure_tiny_model()
    print(p, p.stat().st_size, "bytes")
