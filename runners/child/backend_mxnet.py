"""MXNet backend: gluon model zoo networks, hybridized, on mx.cpu() or mx.gpu(N).

mxnet is imported lazily, after the first start command has set
MXNET_CUDNN_AUTOTUNE_DEFAULT from the spec's ``autotune`` key.
"""
import os
import threading

from child_inputs import normalise
from child_io import TenantFailure, dist_version

ZOO = {
    "alexnet": "alexnet",
    "densenet161": "densenet161",
    "resnet18": "resnet18_v1",
    "resnet50": "resnet50_v1",
    "squeezenet1_0": "squeezenet1.0",
    "vgg16": "vgg16",
    "inception_v3": "inceptionv3",
    "mobilenet_v1": "mobilenet1.0",
    "mobilenet_v2": "mobilenetv2_1.0",
}
INPUT_SIZE = {"inception_v3": 299}
RANDOM_NOTE = "random weights: throughput is valid, labels are not"
AUTOTUNE_ENV = "MXNET_CUDNN_AUTOTUNE_DEFAULT"
# The MXNet Python frontend is not thread-safe: calls of a process's tenants are serialised.
CALL_LOCK = threading.Lock()
_AUTOTUNE = {"set": False, "value": None}



def probe(defer_import=False):
    if defer_import:
        # serve mode: mxnet is imported at the first start (autotune must be set before)
        return dict(framework_version=dist_version("mxnet"), runtime="mxnet", devices=None, deferred_import=True)
    import mxnet as mx

    devices = ["cpu"]
    try:
        n = mx.context.num_gpus()
    except Exception:  # noqa: BLE001 - a CPU build, or a broken CUDA setup
        n = 0
    devices.extend("cuda:%d" % i for i in range(n))
    return dict(framework_version=mx.__version__, runtime="mxnet", devices=devices)


def apply_autotune(value):
    """Sets MXNET_CUDNN_AUTOTUNE_DEFAULT (once per process, before import); returns a note or None."""
    if value is None:
        return None
    want = "1" if value else "0"
    if not _AUTOTUNE["set"]:
        _AUTOTUNE["set"] = True
        _AUTOTUNE["value"] = want
        os.environ[AUTOTUNE_ENV] = want
        return None
    if _AUTOTUNE["value"] != want:
        return "autotune is process-wide: this process already runs with %s=%s" % (AUTOTUNE_ENV, _AUTOTUNE["value"])
    return None


class Backend(object):
    serial_warmup = True

    def __init__(self, spec, log):
        self.spec = spec
        self.log = log
        self.model_name = spec.get("model")
        self.input_size = INPUT_SIZE.get(self.model_name, 224)

    def load(self):
        note = apply_autotune(self.spec.get("autotune"))
        import mxnet as mx

        self.mx = mx
        info = {
            "runtime": "mxnet %s" % mx.__version__,
            "autotune": os.environ.get(AUTOTUNE_ENV),
        }
        if note:
            info["autotune_note"] = note
        threads = self.spec.get("threads")
        if threads:
            info["threads_note"] = "mxnet reads OMP_NUM_THREADS at import; threads=%s is recorded only" % threads
        res = self.spec.get("resource") or "cpu"
        if res == "cpu":
            self.ctx = mx.cpu()
        elif res.startswith("cuda:"):
            idx = int(res.split(":", 1)[1])
            n = mx.context.num_gpus()
            if idx >= n:
                raise TenantFailure("%s is not available: mxnet sees %d GPU(s)" % (res, n))
            self.ctx = mx.gpu(idx)
        else:
            raise TenantFailure("mxnet cannot run on resource %r: use cpu or cuda:N" % res)
        if self.spec.get("file"):
            raise TenantFailure("mxnet takes catalog models only (file= is not supported)")
        if self.model_name not in ZOO:
            raise TenantFailure("mxnet has no catalog model %r" % (self.model_name,))
        from mxnet.gluon.model_zoo import vision

        net = vision.get_model(ZOO[self.model_name], pretrained=False)
        net.initialize(mx.init.Xavier(), ctx=self.ctx)
        net.hybridize(static_alloc=True, static_shape=True)
        self.net = net
        info["weights"] = "random"
        info["note"] = RANDOM_NOTE
        return info

    def fit_batch(self, asked):
        return asked, None

    def host_batch(self, batch_u8):
        return normalise(batch_u8, "imagenet_nchw")

    def to_device(self, host):
        x = self.mx.nd.array(host, ctx=self.ctx, dtype="float32")
        x.wait_to_read()
        return x

    def feed(self, x):
        self.x = x

    def call(self):
        with CALL_LOCK:
            out = self.net(self.x)
            out.wait_to_read()
        return out

    def close(self):
        self.net = None
        self.x = None
