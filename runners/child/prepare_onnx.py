"""Makes the ONNX files of the catalog's models: fp32 exported from torch, int8 quantised by ONNX Runtime.

    python prepare_onnx.py export --out DIR [--onnx-site DIR] MODEL...     (torch's python)
    python prepare_onnx.py quantize --out DIR [--images FOLDER] MODEL...   (onnxruntime's python)

export: builds each model as the torch backend does (torchvision/timm, the pretrained
weights if torch.hub's cache holds them, else random: nothing is downloaded) and exports
it with torch.onnx's TorchScript exporter (dynamo=False) at opset OPSET, batch axis
dynamic, to DIR/<model>_fp32.onnx. The exporter needs the onnx package: --onnx-site is
a site-packages folder holding it (the onnxruntime environment's), appended to sys.path.

quantize: ONNX Runtime static quantisation (QDQ, per-channel int8 weights, uint8
activations) of DIR/<model>_fp32.onnx, calibrated on CALIBRATION_IMAGES images from the
loader the runner children use (the built-in set, or --images), to DIR/<model>_int8.onnx.

A file is remade only when its inputs changed (key in DIR/<model>_<precision>.json, which
also records the opset and the exporter). One JSON line per file on stdout.
"""
import argparse
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

MODELS = ("alexnet", "densenet161", "inception_v3", "mobilenet_v1", "mobilenet_v2", "resnet18", "resnet50",
          "squeezenet1_0", "vgg16")
OPSET = 17
EXPORTER = "torch.onnx.export (TorchScript exporter, dynamo=False)"
CALIBRATION_IMAGES = 20
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def digest(names):
    h = hashlib.sha256()
    for name in names:
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


def cached(path, key_path, key):
    if not (os.path.isfile(path) and os.path.isfile(key_path)):
        return False
    try:
        with open(key_path) as f:
            return json.load(f) == key
    except (OSError, ValueError):
        return False


def write_key(key_path, key):
    tmp = key_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(key, f)
    os.replace(tmp, key_path)


def export(model, out_dir, log):
    import torch

    import backend_torch as bt

    path = os.path.join(out_dir, "%s_fp32.onnx" % model)
    key_path = os.path.join(out_dir, "%s_fp32.json" % model)
    weights_file = bt.pretrained_path(model)
    key = {"model": model, "precision": "fp32", "script": digest(["prepare_onnx.py", "backend_torch.py"]),
           "torch": torch.__version__, "opset": OPSET, "exporter": EXPORTER,
           "weights": "pretrained" if weights_file else "random", "weights_file": weights_file,
           "note": None if weights_file else bt.RANDOM_NOTE}
    t0 = time.time()
    if cached(path, key_path, key):
        return dict(model=model, precision="fp32", path=path, size_bytes=os.path.getsize(path), cached=True,
                    seconds=round(time.time() - t0, 3), opset=OPSET, exporter=EXPORTER, weights=key["weights"])
    log("exporting %s to ONNX (opset %d)" % (model, OPSET))
    net = bt.build(model)
    if weights_file:
        bt.fit_state_dict(net, torch.load(weights_file, map_location="cpu", weights_only=True))
    net.eval()
    size = bt.INPUT_SIZE.get(model, 224)
    tmp = path + ".tmp"
    with torch.inference_mode():
        torch.onnx.export(net, torch.zeros(1, 3, size, size), tmp, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    os.replace(tmp, path)
    write_key(key_path, key)
    return dict(model=model, precision="fp32", path=path, size_bytes=os.path.getsize(path), cached=False,
                seconds=round(time.time() - t0, 3), opset=OPSET, exporter=EXPORTER, weights=key["weights"])


def calibration_batches(images_folder, size):
    """CALIBRATION_IMAGES single-image NCHW float32 batches (user images cycled if fewer)."""
    from child_inputs import load_images, normalise

    images, _ = load_images(images_folder, size)
    x = normalise(images, "imagenet_nchw")
    return [x[i % len(x): i % len(x) + 1] for i in range(CALIBRATION_IMAGES)]


def quantize(model, out_dir, images_folder, log):
    import onnxruntime
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    src = os.path.join(out_dir, "%s_fp32.onnx" % model)
    src_key = os.path.join(out_dir, "%s_fp32.json" % model)
    if not os.path.isfile(src) or not os.path.isfile(src_key):
        raise SystemExit("prepare_onnx: %s is missing: export it first (edgemt models prepare onnx %s)" % (src, model))
    with open(src_key) as f:
        fp32 = json.load(f)
    path = os.path.join(out_dir, "%s_int8.onnx" % model)
    key_path = os.path.join(out_dir, "%s_int8.json" % model)
    key = {"model": model, "precision": "int8", "script": digest(["prepare_onnx.py", "child_inputs.py"]),
           "onnxruntime": onnxruntime.__version__, "source": fp32, "source_bytes": os.path.getsize(src),
           "images": os.path.abspath(images_folder) if images_folder else None,
           "images_stamp": folder_stamp(images_folder), "calibration_images": CALIBRATION_IMAGES,
           "quantization": "static QDQ, per-channel int8 weights, uint8 activations, MinMax calibration",
           "opset": fp32.get("opset"), "exporter": fp32.get("exporter"), "weights": fp32.get("weights"),
           "note": fp32.get("note")}
    t0 = time.time()
    if cached(path, key_path, key):
        return dict(model=model, precision="int8", path=path, size_bytes=os.path.getsize(path), cached=True,
                    seconds=round(time.time() - t0, 3))
    log("quantising %s to int8 on %d calibration images" % (model, CALIBRATION_IMAGES))
    size = 299 if model == "inception_v3" else 224
    batches = calibration_batches(images_folder, size)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({INPUT_NAME: b} for b in batches)

        def get_next(self):
            return next(self.it, None)

    tmp = path + ".tmp.onnx"
    quantize_static(src, tmp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    os.replace(tmp, path)
    write_key(key_path, key)
    return dict(model=model, precision="int8", path=path, size_bytes=os.path.getsize(path), cached=False,
                seconds=round(time.time() - t0, 3))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("export", "quantize"))
    p.add_argument("--out", required=True)
    p.add_argument("--images")
    p.add_argument("--onnx-site", help="site-packages holding the onnx package (appended to sys.path)")
    p.add_argument("models", nargs="+", choices=MODELS)
    args = p.parse_args(argv)
    if args.onnx_site:
        sys.path.append(args.onnx_site)  # appended: this environment's own packages come first

    def log(msg):
        sys.stderr.write("prepare_onnx: %s\n" % msg)
        sys.stderr.flush()

    os.makedirs(args.out, exist_ok=True)
    for m in args.models:  # one at a time: each is written before the next starts
        if args.step == "export":
            r = export(m, args.out, log)
        else:
            r = quantize(m, args.out, args.images, log)
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
