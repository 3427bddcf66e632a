"""TFLite backend: LiteRT (ai_edge_litert), tflite_runtime or tensorflow.lite, on cpu or an EdgeTPU."""
import os

import numpy as np

from child_inputs import normalise, quantise
from child_io import TenantFailure, dist_version

TFLITE_MODELS = ("inception_v3", "mobilenet_v1", "mobilenet_v2")
EDGETPU_LIB = "libedgetpu.so.1"


def interpreter_module():
    """(runtime name, Interpreter class, load_delegate) of the first runtime that imports."""
    errors = []
    try:
        from ai_edge_litert import interpreter as m

        return "ai_edge_litert", m.Interpreter, m.load_delegate
    except ImportError as exc:
        errors.append("ai_edge_litert: %s" % exc)
    try:
        from tflite_runtime import interpreter as m

        return "tflite_runtime", m.Interpreter, m.load_delegate
    except ImportError as exc:
        errors.append("tflite_runtime: %s" % exc)
    try:
        import tensorflow as tf

        return "tensorflow.lite", tf.lite.Interpreter, tf.lite.experimental.load_delegate
    except ImportError as exc:
        errors.append("tensorflow: %s" % exc)
    raise ImportError("no TFLite runtime imports (%s): pip install ai-edge-litert" % "; ".join(errors))


def _version(runtime):
    try:
        if runtime == "ai_edge_litert":
            import ai_edge_litert

            v = getattr(ai_edge_litert, "__version__", None)
            if v:
                return v
            return dist_version("ai_edge_litert") or dist_version("ai-edge-litert")
        if runtime == "tflite_runtime":
            import tflite_runtime

            return getattr(tflite_runtime, "__version__", None) or dist_version("tflite_runtime")
        import tensorflow as tf

        return tf.__version__
    except Exception:  # noqa: BLE001
        return None



def probe(defer_import=False):
    runtime, _, _ = interpreter_module()
    # EdgeTPUs are enumerated by the controller from sysfs/USB; not listed here.
    return dict(framework_version=_version(runtime), runtime=runtime, devices=["cpu"])


def _first_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def edgetpu_options(resource):
    """load_delegate options for a resource: edgetpu, edgetpu:usb:N, edgetpu:pci:N."""
    if resource == "edgetpu":
        return {}
    parts = resource.split(":")
    if len(parts) == 3 and parts[0] == "edgetpu" and parts[1] in ("usb", "pci") and parts[2].isdigit():
        return {"device": "%s:%s" % (parts[1], parts[2])}
    raise TenantFailure("bad EdgeTPU resource %r: edgetpu, edgetpu:usb:N or edgetpu:pci:N" % resource)


def is_tflite_file(path):
    """A TFLite flatbuffer carries the file identifier b'TFL3' at bytes 4..8."""
    with open(path, "rb") as f:
        head = f.read(8)
    return len(head) == 8 and head[4:8] == b"TFL3"


class Backend(object):
    serial_warmup = False

    def __init__(self, spec, log):
        self.spec = spec
        self.log = log
        self.model_name = spec.get("model")
        self.input_size = 224
        self.interp = None

    def _model_path(self):
        path = self.spec.get("file")
        if path:
            if not os.path.isfile(path):
                raise TenantFailure("model file %s does not exist" % path)
            return path
        if self.model_name not in TFLITE_MODELS:
            raise TenantFailure(
                "tflite runs %s only (got %r)" % (", ".join(TFLITE_MODELS), self.model_name)
            )
        models_dir = self.spec.get("models_dir")
        if not models_dir:
            raise TenantFailure(
                "no models_dir for tflite %s: run 'edgemt models prepare tflite %s'" % (self.model_name, self.model_name)
            )
        path = os.path.join(models_dir, "tflite", "%s_int8.tflite" % self.model_name)
        if not os.path.isfile(path):
            raise TenantFailure(
                "%s is missing: run 'edgemt models prepare tflite %s'" % (path, self.model_name)
            )
        return path

    def load(self):
        self.runtime, Interpreter, load_delegate = interpreter_module()
        path = self._model_path()
        if not is_tflite_file(path):
            raise TenantFailure("%s is not a TFLite model (no TFL3 flatbuffer identifier)" % path)
        resource = self.spec.get("resource") or "cpu"
        delegates = []
        if resource.startswith("edgetpu"):
            opts = edgetpu_options(resource)
            try:
                delegates.append(load_delegate(EDGETPU_LIB, opts))
            except Exception as exc:  # noqa: BLE001 - the delegate's own message is the reason
                msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise TenantFailure("EdgeTPU delegate %s %s did not load: %s" % (EDGETPU_LIB, opts or "", msg))
        elif resource != "cpu":
            raise TenantFailure("tflite cannot run on resource %r: use cpu or edgetpu[:usb:N|:pci:N]" % resource)
        self.on_edgetpu = bool(delegates)
        threads = self.spec.get("threads")
        kwargs = {"model_path": path}
        if threads:
            kwargs["num_threads"] = int(threads)
        if delegates:
            kwargs["experimental_delegates"] = delegates
        self._interp_kwargs = kwargs
        self._Interpreter = Interpreter
        try:
            self._fresh()
        except Exception as exc:  # noqa: BLE001
            text = str(exc)
            if "edgetpu-custom-op" in text:
                raise TenantFailure(
                    "%s was compiled for the EdgeTPU (edgetpu-custom-op): run it with resource=edgetpu, "
                    "or use the un-compiled model on cpu" % path
                )
            raise TenantFailure("%s does not load in %s: %s" % (path, self.runtime, (text.strip().splitlines() or [""])[0]))
        self.path = path
        self._read_io()
        self.model_batch = int(self.inp["shape"][0])
        return {
            "runtime": self.runtime,
            "weights": "file",
            "model_file": path,
            "input_dtype": np.dtype(self.inp["dtype"]).name,
            "note": None,
        }

    def _fresh(self):
        """A new interpreter at the model's own batch (after a failed resize: XNNPack can
        leave the old one broken, and it crashes the process later)."""
        self.interp = None
        self.interp = self._Interpreter(**self._interp_kwargs)
        self.interp.allocate_tensors()
        self._read_io()

    def _read_io(self):
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.input_size = int(self.inp["shape"][1])

    def fit_batch(self, asked):
        """(batch used, why) for a batch asked for: the model's own, a resized one, or a clamp.

        A model that cannot be resized (an EdgeTPU model, a graph with fixed shapes) is
        clamped to its own batch. A resizable model whose asked batch does not allocate (out
        of memory) fails: that batch does not run, and recording it as the model's batch
        would report a figure of another batch. Which of the two a failure is, is told by
        trying a batch of 2, which needs little memory: if 2 runs, the model resizes.
        """
        have = int(self.inp["shape"][0])
        if asked == have:
            return asked, None
        if self.on_edgetpu:
            return self.model_batch, "EdgeTPU models have a fixed batch of %d" % self.model_batch
        try:
            self._resize(asked)
            return asked, None
        except MemoryError as exc:
            self._fresh()
            raise TenantFailure("batch %d does not fit in memory: %s" % (asked, _first_line(exc)))
        except Exception as exc:  # noqa: BLE001 - not resizable, or out of memory: told apart below
            failure = _first_line(exc)
        self._fresh()
        small = self.model_batch + 1
        resizable = False
        if asked > small:
            try:
                self._resize(small)
                resizable = True
            except Exception:  # noqa: BLE001
                pass
            self._fresh()
        if resizable:
            raise TenantFailure(
                "batch %d does not run (out of memory?): %s; the model runs batch %d" % (asked, failure, small)
            )
        return self.model_batch, "the model takes batch %d only (%s)" % (self.model_batch, failure)

    def _resize(self, batch):
        """Resizes the input to a batch, allocates, and proves it with one call."""
        shape = list(self.inp["shape"])
        shape[0] = batch
        self.interp.resize_tensor_input(self.inp["index"], shape)
        self.interp.allocate_tensors()
        self._read_io()
        if int(self.out["shape"][0]) != batch:
            raise ValueError("output batch %d after resize" % int(self.out["shape"][0]))
        self.interp.set_tensor(self.inp["index"], np.zeros(shape, dtype=self.inp["dtype"]))
        self.interp.invoke()

    def host_batch(self, batch_u8):
        x = normalise(batch_u8, "tf")  # [-1, 1]: the Keras MobileNet/InceptionV3 preprocessing
        dtype = np.dtype(self.inp["dtype"])
        if dtype.kind in "iu":
            scale, zp = self.inp["quantization"]
            if not scale:
                return np.clip(batch_u8, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)
            return quantise(x, dtype, scale, zp)
        return x.astype(dtype)

    def to_device(self, host):
        return host

    def feed(self, x):
        self.interp.set_tensor(self.inp["index"], x)

    def call(self):
        self.interp.invoke()
        return self.interp.get_tensor(self.out["index"])

    def close(self):
        self.interp = None
