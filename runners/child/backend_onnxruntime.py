"""ONNX Runtime backend: one InferenceSession per tenant, on any execution provider.

Resources (the provider each one asks for):
- ``cpu``: CPUExecutionProvider.
- ``cuda:N``: CUDAExecutionProvider on GPU N (CPU fallback for the ops it lacks).
- ``tensorrt:N``: TensorrtExecutionProvider on GPU N (then CUDA, then CPU for the rest),
  precision fp32, fp16 or int8 (``precision=`` in the SPEC).
- ``dla:N``: TensorrtExecutionProvider with the Jetson's DLA core N and GPU fallback for
  the layers the DLA cannot run (fp16 by default: the DLA runs no fp32).

Catalog models are files made by ``edgemt models prepare onnx`` (prepare_onnx.py):
``<models_dir>/onnx/<model>_fp32.onnx`` (exported from the torch models) and
``<model>_int8.onnx`` (static quantisation, QDQ). TensorRT's fp16 is built by TensorRT
from the fp32 file. TensorRT engines are cached under ``$XDG_CACHE_HOME/edgemt/tensorrt``
in a folder keyed by TensorRT version, model file digest, precision, batch and device; the
engine is built at the first call of a batch and its build time is reported apart
(``engine_build_s``), never timed as a batch.

``InferenceSession.run`` releases the GIL, so tenants scale as threads of one process
(measured in docs/design.md). Python 3.6-compatible; imports nothing of edgemt.
"""
import ctypes
import hashlib
import json
import os
import time

import numpy as np

from child_inputs import normalise
from child_io import TenantFailure

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
PROVIDER = {"cpu": CPU, "cuda": CUDA, "tensorrt": TENSORRT, "dla": TENSORRT}
PRECISIONS = ("fp32", "fp16", "int8")
# What each resource kind can run: the CPU and CUDA providers run the files as they are
# (fp32, or the QDQ int8 file on the CPU); TensorRT builds fp16/int8 engines itself.
PRECISIONS_OF = {"cpu": ("fp32", "int8"), "cuda": ("fp32",), "tensorrt": PRECISIONS, "dla": ("fp16", "int8")}
GPU_HINT = ("install the GPU build: 'edgemt env create onnxruntime' on a host with the NVIDIA driver "
            "(onnxruntime-gpu), or on a Jetson JetPack's wheel with 'edgemt env use onnxruntime /usr/bin/python3'")
INSTALL_HINT = {CUDA: GPU_HINT, TENSORRT: GPU_HINT + " and TensorRT (libnvinfer)"}


def parse_resource(resource):
    """'cpu' -> ('cpu', None); 'cuda:1' -> ('cuda', 1); also tensorrt:N and dla:N."""
    resource = resource or "cpu"
    if resource == "cpu":
        return "cpu", None
    kind, _, index = resource.partition(":")
    if kind in ("cuda", "tensorrt", "dla") and index.isdigit():
        return kind, int(index)
    raise TenantFailure("onnxruntime cannot run on resource %r: use cpu, cuda:N, tensorrt:N or dla:N" % resource)


def resolve_precision(kind, precision):
    """The precision a tenant runs: the SPEC's, else fp32 (fp16 on a DLA, which runs no fp32)."""
    precision = precision or ("fp16" if kind == "dla" else "fp32")
    if precision not in PRECISIONS_OF[kind]:
        raise TenantFailure("precision=%s does not run on %s; it runs %s"
                            % (precision, kind, ", ".join(PRECISIONS_OF[kind])))
    return precision


def model_file_name(model, precision):
    """The prepared file a catalog model runs from: the int8 file for int8, else the fp32 one."""
    return "%s_%s.onnx" % (model, "int8" if precision == "int8" else "fp32")


def cache_root(environ=None):
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "edgemt", "tensorrt")


def file_digest(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()[:16]


def engine_cache_dir(root, trt_version, model_path, digest, precision, batch, kind, index):
    """The folder of a TensorRT engine: one per TensorRT version, model file, precision,
    batch and device, so an engine is never reused for another of them."""
    stem = os.path.splitext(os.path.basename(model_path))[0]
    device = "%s%d" % (kind, index)
    return os.path.join(root, "trt-%s" % (trt_version or "unknown"), "%s-%s" % (stem, digest),
                        "%s-b%d-%s" % (precision, batch, device))


def provider_plan(kind, index, precision, cache_dir=None, input_name=None, input_shape=None):
    """The providers list for InferenceSession: [(name, options), ...] in priority order."""
    if kind == "cpu":
        return [(CPU, {})]
    if kind == "cuda":
        return [(CUDA, {"device_id": str(index)}), (CPU, {})]
    device = 0 if kind == "dla" else index  # a Jetson has one GPU; N names the DLA core
    trt = {
        "device_id": str(device),
        "trt_fp16_enable": "True" if precision == "fp16" else "False",
        "trt_int8_enable": "True" if precision == "int8" else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": cache_dir,
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": cache_dir,
    }
    if kind == "dla":
        # ONNX Runtime sets TensorRT's GPU_FALLBACK with the DLA: layers the DLA cannot run go to the GPU.
        trt.update({"trt_dla_enable": "True", "trt_dla_core": str(index)})
    if input_name and input_shape:
        shape = "%s:%s" % (input_name, "x".join(str(int(d)) for d in input_shape))
        # One profile of exactly this batch: the engine is built for it, nothing else.
        trt.update({"trt_profile_min_shapes": shape, "trt_profile_max_shapes": shape, "trt_profile_opt_shapes": shape})
    return [(TENSORRT, trt), (CUDA, {"device_id": str(device)}), (CPU, {})]


def session_settings(threads):
    """SessionOptions fields for threads=: the intra-op pool of this session, and one
    inter-op thread (the graph runs sequentially, as every other backend's does).

    Spinning is off: an idle ORT pool otherwise spins its threads for a while after each
    call, burning the cores the other tenants of a multi-tenant run need."""
    settings = {"inter_op_num_threads": 1, "config": {"session.intra_op.allow_spinning": "0"}}
    if threads:
        settings["intra_op_num_threads"] = int(threads)
    return settings


def tensorrt_version():
    """TensorRT's version, from its Python package or libnvinfer; None if neither is here."""
    try:
        import tensorrt

        return tensorrt.__version__
    except Exception:  # noqa: BLE001
        pass
    for lib in ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so"):
        try:
            v = int(ctypes.CDLL(lib).getInferLibVersion())
        except (OSError, AttributeError):
            continue
        if v >= 10000:  # TensorRT 10: major * 10000 + minor * 100 + patch
            return "%d.%d.%d" % (v // 10000, (v // 100) % 100, v % 100)
        return "%d.%d.%d" % (v // 1000, (v // 100) % 10, v % 100)
    return None


def cuda_device_count():
    """GPUs the CUDA driver sees (libcuda, no runtime library needed); 0 without a driver."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        if cuda.cuInit(0) != 0:
            return 0
        n = ctypes.c_int(0)
        if cuda.cuDeviceGetCount(ctypes.byref(n)) != 0:
            return 0
        return int(n.value)
    except (OSError, AttributeError):
        return 0


def _tiny_model():
    """Bytes of a one-Relu ONNX model (needs the onnx package), or None."""
    try:
        from onnx import TensorProto, helper
    except ImportError:
        return None
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def loading_providers(ort, listed, cuda_devices):
    """The providers of ``listed`` that really load: a GPU provider is built into
    onnxruntime-gpu even where CUDA or TensorRT is missing, and ONNX Runtime then drops it
    from a session with a warning. Each is tried on a one-Relu model."""
    found = [p for p in listed if p == CPU]
    gpu = [p for p in listed if p in (CUDA, TENSORRT)]
    if not gpu or not cuda_devices:
        return found
    model = _tiny_model()
    for p in gpu:
        if model is None:  # no onnx package to build the test model: listed is all we know
            found.append(p)
            continue
        try:
            so = ort.SessionOptions()
            so.log_severity_level = 4
            sess = ort.InferenceSession(model, sess_options=so, providers=[p, CPU])
            if p in sess.get_providers():
                found.append(p)
        except Exception:  # noqa: BLE001 - a provider that fails to load is not there
            pass
    return found


def probe(defer_import=False):
    import onnxruntime as ort

    n = cuda_device_count()
    providers = loading_providers(ort, ort.get_available_providers(), n)
    devices = ["cpu"]
    if CUDA in providers or TENSORRT in providers:
        devices.extend("cuda:%d" % i for i in range(n))
    return dict(framework_version=ort.__version__, runtime="onnxruntime", devices=devices,
                providers=providers, tensorrt=tensorrt_version() if TENSORRT in providers else None)


def read_meta(model_path):
    """The prepare key next to a prepared file (opset, exporter, weights...), or {}."""
    try:
        with open(os.path.splitext(model_path)[0] + ".json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class Backend(object):
    serial_warmup = False

    def __init__(self, spec, log):
        self.spec = spec
        self.log = log
        self.model_name = spec.get("model")
        self.kind, self.index = parse_resource(spec.get("resource"))
        self.precision = resolve_precision(self.kind, spec.get("precision"))
        self.input_size = int(spec.get("size") or 224)
        self.session = None
        self.info = {}

    def _model_path(self):
        path = self.spec.get("file")
        if path:
            if not os.path.isfile(path):
                raise TenantFailure("model file %s does not exist" % path)
            return path
        models_dir = self.spec.get("models_dir")
        name = model_file_name(self.model_name, self.precision)
        path = os.path.join(models_dir or "", "onnx", name)
        if not models_dir or not os.path.isfile(path):
            raise TenantFailure("%s is missing: run 'edgemt models prepare onnx %s'" % (path, self.model_name))
        return path

    def load(self):
        import onnxruntime as ort

        self.ort = ort
        self.path = self._model_path()
        wanted = PROVIDER[self.kind]
        if wanted not in ort.get_available_providers():
            raise TenantFailure("onnxruntime %s has no %s (it has %s): %s" % (
                ort.__version__, wanted, ", ".join(ort.get_available_providers()), INSTALL_HINT.get(wanted, "")))
        so = ort.SessionOptions()
        settings = session_settings(self.spec.get("threads"))
        so.inter_op_num_threads = settings["inter_op_num_threads"]
        if "intra_op_num_threads" in settings:
            so.intra_op_num_threads = settings["intra_op_num_threads"]
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        for k, v in settings["config"].items():
            so.add_session_config_entry(k, v)
        self.session_options = so
        # A first session on the CPU reads the graph's input (and proves the file loads);
        # GPU placements make their own in fit_batch, once the batch is known (TensorRT
        # builds an engine for it).
        self._open(provider_plan("cpu", None, self.precision))
        meta = read_meta(self.path) if not self.spec.get("file") else {}
        self.info = {"runtime": "onnxruntime %s" % ort.__version__, "weights": meta.get("weights") or "file",
                     "model_file": self.path, "precision": self.precision, "provider": wanted,
                     "note": meta.get("note")}
        for k in ("opset", "exporter"):
            if k in meta:
                self.info[k] = meta[k]
        return self.info

    def _open(self, plan):
        try:
            self.session = self.ort.InferenceSession(self.path, sess_options=self.session_options,
                                                     providers=[p for p, _ in plan],
                                                     provider_options=[o for _, o in plan])
        except Exception as exc:  # noqa: BLE001 - ORT's own first line is the reason
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise TenantFailure("%s does not load in onnxruntime: %s" % (self.path, text))
        wanted = plan[0][0]
        if wanted not in self.session.get_providers():
            raise TenantFailure("%s did not load for %s (the session has %s): %s" % (
                wanted, self.spec.get("resource"), ", ".join(self.session.get_providers()), INSTALL_HINT.get(wanted, "")))
        self.inp = self.session.get_inputs()[0]
        self.out_name = self.session.get_outputs()[0].name
        shape = list(self.inp.shape)
        if len(shape) != 4:
            raise TenantFailure("%s takes a %d-d input %s; edgemt feeds image batches N x 3 x H x W"
                                % (self.path, len(shape), shape))
        if isinstance(shape[1], int) and shape[1] != 3:
            raise TenantFailure("%s takes %s channels first; edgemt feeds N x 3 x H x W (NCHW, RGB)"
                                % (self.path, shape[1]))
        if isinstance(shape[2], int):  # a fixed side wins over size= (the file knows its input)
            self.input_size = shape[2]
        self.model_batch = shape[0] if isinstance(shape[0], int) else None
        self.dtype = np.float16 if self.inp.type == "tensor(float16)" else np.float32

    def fit_batch(self, asked):
        """The model's fixed batch if it has one, else the batch asked for; on TensorRT the
        engine of that batch is built (or read from the cache) here, timed apart."""
        used, why = asked, None
        if self.model_batch is not None and self.model_batch != asked:
            used, why = self.model_batch, "the model takes batch %d only" % self.model_batch
        if self.kind != "cpu":
            self._open_device(used)
        return used, why

    def _open_device(self, batch):
        shape = [batch, 3, self.input_size, self.input_size]
        cache = None
        if self.kind in ("tensorrt", "dla"):
            trt = tensorrt_version()
            cache = engine_cache_dir(cache_root(), trt, self.path, file_digest(self.path), self.precision, batch,
                                     self.kind, self.index)
            if not os.path.isdir(cache):
                os.makedirs(cache)
            self.info["engine_cache"] = cache
            self.info["tensorrt"] = trt
        self._open(provider_plan(self.kind, self.index, self.precision, cache, self.inp.name, shape))
        if cache is not None:
            # The engine is built at the first run of a shape: done here, before warm-up.
            t0 = time.monotonic()
            self.session.run([self.out_name], {self.inp.name: np.zeros(shape, dtype=self.dtype)})
            self.info["engine_build_s"] = round(time.monotonic() - t0, 3)
            self.log("TensorRT engine for batch %d ready in %.1f s (cache %s)" % (batch, self.info["engine_build_s"], cache))
        self.binding = self.session.io_binding()
        self.device_id = 0 if self.kind == "dla" else self.index

    def host_batch(self, batch_u8):
        return normalise(batch_u8, "imagenet_nchw").astype(self.dtype)

    def to_device(self, host):
        if self.kind == "cpu":
            return host
        return self.ort.OrtValue.ortvalue_from_numpy(host, "cuda", self.device_id)

    def feed(self, x):
        if self.kind == "cpu":
            self.x = x
            return
        self.binding.bind_ortvalue_input(self.inp.name, x)
        self.binding.bind_output(self.out_name, "cuda", self.device_id)

    def call(self):
        if self.kind == "cpu":
            return self.session.run([self.out_name], {self.inp.name: self.x})[0]
        self.session.run_with_iobinding(self.binding)
        self.binding.synchronize_outputs()
        return None

    def close(self):
        self.session = None
        self.binding = None
        self.x = None
