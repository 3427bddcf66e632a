"""Makes full-int8 TFLite models of the catalog's TFLite models (run with TensorFlow's python).

    python prepare_tflite.py --out DIR [--images FOLDER] [--edgetpu] [--compiler PATH]
                             [--co-compile] MODEL...

MODEL is inception_v3, mobilenet_v1 or mobilenet_v2. Each is built with Keras
(weights=None unless Keras' cache already holds the imagenet weights: nothing is
downloaded), converted to full int8 (int8 input and output) with ~20 calibration images
from the same loader the runner children use, and written to DIR/<model>_int8.tflite.
A model is rebuilt only when its inputs changed (key in DIR/<model>_int8.json).
--edgetpu also compiles them with edgetpu_compiler (one call per model, or one call for
all with --co-compile so they share the 8 MB parameter cache).
One JSON line per model on stdout.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

MODELS = ("inception_v3", "mobilenet_v1", "mobilenet_v2")
CALIBRATION_IMAGES = 20
COMPILER_MISSING = (
    "edgetpu_compiler not found: install it on a Debian x86-64/arm64 host from Coral's package "
    "source (apt-get install edgetpu-compiler)"
)

_SIZE = re.compile(r"([\d.]+)\s*([KMG]?i?B)")
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def size_bytes(text):
    """'3.42MiB' -> 3586129; None if it is not a size."""
    m = _SIZE.search(text or "")
    if not m:
        return None
    return int(round(float(m.group(1)) * _UNITS.get(m.group(2), 1)))


def parse_compiler_log(text):
    """Per-model parameter memory from edgetpu_compiler's stdout, keyed by input model basename.

    The compiler prints one block per input model (several blocks when co-compiling), e.g.
    (format as in Coral's compiler documentation, https://coral.ai/docs/edgetpu/compiler/,
    and in published outputs of compiler 15.0/16.0):

        Input model: /home/yolo/yolov3-tiny_int8.tflite
        Input size: 8.58MiB
        Output model: /home/yolo/yolov3-tiny_int8_edgetpu.tflite
        Output size: 8.70MiB
        On-chip memory used for caching model parameters: 3.00KiB
        On-chip memory remaining for caching model parameters: 7.67MiB
        Off-chip memory used for streaming uncached model parameters: 0.00B
        Number of Edge TPU subgraphs: 1
        Total number of operations: 36
        Number of operations that will run on Edge TPU: 2   (only when some run on the CPU)
        Number of operations that will run on CPU: 34
    """
    fields = (
        ("output_model", r"Output model:\s*(.+)", str),
        ("on_chip_bytes", r"On-chip memory used for caching model parameters:\s*(.+)", size_bytes),
        ("on_chip_remaining_bytes", r"On-chip memory remaining for caching model parameters:\s*(.+)", size_bytes),
        ("off_chip_bytes", r"Off-chip memory used for streaming uncached model parameters:\s*(.+)", size_bytes),
        ("subgraphs", r"Number of Edge TPU subgraphs:\s*(\d+)", int),
        ("total_ops", r"Total number of operations:\s*(\d+)", int),
        ("ops_on_edgetpu", r"Number of operations that will run on Edge TPU:\s*(\d+)", int),
        ("ops_on_cpu", r"Number of operations that will run on CPU:\s*(\d+)", int),
    )
    out = {}
    blocks = re.split(r"^Input model:\s*", text, flags=re.M)
    for block in blocks[1:]:
        first, _, rest = block.partition("\n")
        name = os.path.basename(first.strip())
        entry = {"input_model": first.strip()}
        for key, pattern, conv in fields:
            m = re.search(pattern, rest)
            if m:
                entry[key] = conv(m.group(1).strip())
        if "output_model" in entry:
            entry["output_model"] = entry["output_model"].strip()
        if "ops_on_edgetpu" not in entry and "total_ops" in entry:
            entry["ops_on_edgetpu"] = entry["total_ops"]  # printed only when some ops fall back
            entry.setdefault("ops_on_cpu", 0)
        out[name] = entry
    return out


def script_digest():
    h = hashlib.sha256()
    for name in ("prepare_tflite.py", "child_inputs.py", "backend_tensorflow.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def folder_stamp(folder):
    if folder is None:
        return None
    st = []
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            p = os.path.join(root, f)
            try:
                s = os.stat(p)
                st.append("%s:%d:%d" % (os.path.relpath(p, folder), s.st_size, int(s.st_mtime)))
            except OSError:
                pass
    return hashlib.sha256("\n".join(sorted(st)).encode()).hexdigest()[:16]


def convert(model, images_folder):
    import numpy as np
    import tensorflow as tf

    from child_inputs import load_images, normalise

    import backend_tensorflow as btf

    net, weights = btf.build_keras(model)
    size = btf.INPUT_SIZE.get(model, 224)
    images, _ = load_images(images_folder, size)
    calib = normalise(images[:CALIBRATION_IMAGES], "tf")
    while len(calib) < CALIBRATION_IMAGES:  # fewer user images: cycle them
        calib = np.concatenate([calib, calib])[:CALIBRATION_IMAGES]

    fn = tf.function(lambda x: net(x, training=False), input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
    concrete = fn.get_concrete_function()

    def representative():
        for i in range(CALIBRATION_IMAGES):
            yield [calib[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert(), weights


def prepare(model, out_dir, images_folder, log):
    path = os.path.join(out_dir, "%s_int8.tflite" % model)
    key_path = os.path.join(out_dir, "%s_int8.json" % model)
    import tensorflow as tf

    import backend_tensorflow as btf

    key = {
        "model": model,
        "script": script_digest(),
        "tensorflow": tf.__version__,
        "images": os.path.abspath(images_folder) if images_folder else None,
        "images_stamp": folder_stamp(images_folder),
        "weights": btf.cached_imagenet_weights(model),
    }
    t0 = time.time()
    if os.path.isfile(path) and os.path.isfile(key_path):
        try:
            with open(key_path) as f:
                if json.load(f) == key:
                    return {"model": model, "path": path, "size_bytes": os.path.getsize(path),
                            "seconds": round(time.time() - t0, 3), "cached": True,
                            "weights": "pretrained" if key["weights"] else "random"}
        except (OSError, ValueError):
            pass
    log("converting %s to full int8" % model)
    data, weights = convert(model, images_folder)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    with open(key_path, "w") as f:
        json.dump(key, f)
    return {"model": model, "path": path, "size_bytes": len(data), "seconds": round(time.time() - t0, 3),
            "cached": False, "weights": weights}


def compile_edgetpu(compiler, paths, out_dir, co_compile):
    """Runs edgetpu_compiler (argv list, no shell); returns {input basename: parsed block}."""
    calls = [list(paths)] if co_compile else [[p] for p in paths]
    parsed = {}
    for group in calls:
        argv = [compiler, "-s", "-o", out_dir] + group
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        text, _ = proc.communicate()
        sys.stderr.write(text)
        if proc.returncode != 0:
            raise RuntimeError("edgetpu_compiler failed (%d): %s" % (proc.returncode, text.strip().splitlines()[-1:] or ""))
        parsed.update(parse_compiler_log(text))
    return parsed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--images")
    p.add_argument("--edgetpu", action="store_true")
    p.add_argument("--compiler")
    p.add_argument("--co-compile", action="store_true")
    p.add_argument("models", nargs="+", choices=MODELS)
    args = p.parse_args(argv)

    def log(msg):
        sys.stderr.write("prepare_tflite: %s\n" % msg)
        sys.stderr.flush()

    compiler = None
    if args.edgetpu or args.co_compile:
        compiler = args.compiler or shutil.which("edgetpu_compiler")
        if not compiler or not os.path.isfile(compiler):
            sys.stderr.write(COMPILER_MISSING + "\n")
            return 2
    os.makedirs(args.out, exist_ok=True)
    # Keep protocol-like stdout clean: TF writes its noise to stderr; we print only JSON lines.
    results = [prepare(m, args.out, args.images, log) for m in args.models]
    if compiler:
        parsed = compile_edgetpu(compiler, [r["path"] for r in results], args.out, args.co_compile)
        for r in results:
            info = parsed.get(os.path.basename(r["path"]), {})
            r["edgetpu"] = info
            out_model = os.path.join(args.out, os.path.basename(r["path"])[: -len(".tflite")] + "_edgetpu.tflite")
            r["edgetpu_path"] = out_model if os.path.isfile(out_model) else None
            r["co_compiled"] = bool(args.co_compile)
    for r in results:
        sys.stdout.write(json.dumps(r) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
