"""PyTorch backend: torchvision models (timm for MobileNet-V1) on cpu or cuda:N."""
import os
import re

from child_inputs import normalise
from child_io import TenantFailure

TORCHVISION = {
    "alexnet": "alexnet",
    "densenet161": "densenet161",
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "squeezenet1_0": "squeezenet1_0",
    "vgg16": "vgg16",
    "inception_v3": "inception_v3",
    "mobilenet_v2": "mobilenet_v2",
}
TIMM = {"mobilenet_v1": "mobilenetv1_100"}
INPUT_SIZE = {"inception_v3": 299}
RANDOM_NOTE = "random weights: throughput is valid, labels are not"


def probe(defer_import=False):
    import torch

    devices = ["cpu"]
    try:
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup means no CUDA device
        n = 0
    devices.extend("cuda:%d" % i for i in range(n))
    return dict(framework_version=torch.__version__, runtime="torch", devices=devices)


def build(model):
    """The catalog model with random weights (nothing is downloaded)."""
    if model in TIMM:
        import timm

        return timm.create_model(TIMM[model], pretrained=False)
    import torchvision

    if model == "inception_v3":
        return torchvision.models.get_model("inception_v3", weights=None, aux_logits=False, init_weights=False)
    return torchvision.models.get_model(TORCHVISION[model], weights=None)


def pretrained_path(model):
    """torchvision's default weights file in torch.hub's checkpoint folder, if the user has it."""
    if model not in TORCHVISION:
        return None
    import torch
    from torchvision.models import get_model_weights

    url = get_model_weights(TORCHVISION[model]).DEFAULT.url
    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))
    return path if os.path.isfile(path) else None


_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def fit_state_dict(net, state):
    """Loads a state dict into net; old DenseNet key names fixed, extra aux-logit keys dropped."""
    fixed = {}
    for k, v in state.items():
        m = _DENSENET_KEY.match(k)
        fixed[m.group(1) + m.group(2) if m else k] = v
    own = net.state_dict()
    extra = [k for k in fixed if k not in own]
    if extra and all(k.startswith("AuxLogits.") for k in extra):
        fixed = dict((k, v) for k, v in fixed.items() if k in own)
    net.load_state_dict(fixed, strict=True)


class Backend(object):
    serial_warmup = False

    def __init__(self, spec, log):
        self.spec = spec
        self.log = log
        self.model_name = spec.get("model")
        # size= is the input side of a user's file= model; catalog models have their own
        self.input_size = int(spec.get("size") or INPUT_SIZE.get(self.model_name, 224))
        self.net = None

    def _device(self, torch):
        res = self.spec.get("resource") or "cpu"
        if res == "cpu":
            return torch.device("cpu")
        if res.startswith("cuda:") or res == "cuda":
            idx = int(res.split(":", 1)[1]) if ":" in res else 0
            n = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if idx >= n:
                raise TenantFailure(
                    "%s is not available: torch %s sees %d CUDA device(s)%s"
                    % (res, torch.__version__, n, "" if torch.version.cuda else " (a CPU-only build)")
                )
            return torch.device("cuda", idx)
        raise TenantFailure("torch cannot run on resource %r: use cpu or cuda:N" % res)

    def load(self):
        import torch

        self.torch = torch
        self.device = self._device(torch)
        info = {"runtime": "torch %s" % torch.__version__}
        threads = self.spec.get("threads")
        if threads:
            torch.set_num_threads(int(threads))
            info["threads_note"] = "torch.set_num_threads is process-wide: every tenant of this process uses %d" % int(threads)
        path = self.spec.get("file")
        if path:
            self.net = self._from_file(torch, path)
            info["weights"] = "file"
        else:
            if self.model_name not in TORCHVISION and self.model_name not in TIMM:
                raise TenantFailure("torch has no catalog model %r" % (self.model_name,))
            self.net = build(self.model_name)
            weights = pretrained_path(self.model_name)
            if weights:
                fit_state_dict(self.net, torch.load(weights, map_location="cpu", weights_only=True))
                info["weights"] = "pretrained"
                info["weights_file"] = weights
            else:
                info["weights"] = "random"
                info["note"] = RANDOM_NOTE
        self.net.eval()
        self.net.to(self.device)
        return info

    def _from_file(self, torch, path):
        if not os.path.isfile(path):
            raise TenantFailure("model file %s does not exist" % path)
        try:
            return torch.jit.load(path, map_location="cpu")
        except Exception as jit_exc:  # noqa: BLE001 - not TorchScript: try a state dict
            jit_err = jit_exc
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise TenantFailure(
                "%s is neither a TorchScript file nor a state dict torch.load(weights_only=True) reads "
                "(jit: %s; load: %s)" % (path, str(jit_err).splitlines()[0][:80] if str(jit_err) else type(jit_err).__name__,
                                         (str(exc).splitlines() or [type(exc).__name__])[0][:80])
            )
        if not isinstance(state, dict):
            raise TenantFailure("%s holds a %s, not a state dict" % (path, type(state).__name__))
        if self.model_name is None:
            raise TenantFailure("%s is a state dict: say which catalog model it fits with model=" % path)
        net = build(self.model_name)
        fit_state_dict(net, state)
        return net

    def fit_batch(self, asked):
        return asked, None

    def host_batch(self, batch_u8):
        return normalise(batch_u8, "imagenet_nchw")

    def to_device(self, host):
        t = self.torch.from_numpy(host)
        if self.device.type == "cuda":
            t = t.to(self.device, non_blocking=False)
            self.torch.cuda.synchronize(self.device)
        return t

    def feed(self, x):
        self.x = x

    def call(self):
        torch = self.torch
        with torch.inference_mode():
            out = self.net(self.x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return out

    def close(self):
        self.net = None
        self.x = None
        if getattr(self, "device", None) is not None and self.device.type == "cuda":
            self.torch.cuda.empty_cache()
