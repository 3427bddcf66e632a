"""TensorFlow backend: Keras models run through a tf.function (no XLA) on CPU or a GPU."""
import os

from child_inputs import normalise
from child_io import TenantFailure

INPUT_SIZE = {"inception_v3": 299}
# keras.applications constructor, Keras' imagenet weights file name, preprocessing mode
APPLICATIONS = {
    "resnet50": ("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "caffe"),
    "vgg16": ("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "caffe"),
    "inception_v3": ("InceptionV3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "tf"),
    "mobilenet_v1": ("MobileNet", "mobilenet_1_0_224_tf.h5", "tf"),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5", "tf"),
}
# edgemt's own definitions take torchvision-style inputs (Keras' "torch" preprocessing mode)
OWN_MODELS = ("alexnet", "resnet18", "squeezenet1_0", "densenet161")
RANDOM_NOTE = "random weights: throughput is valid, labels are not"


def probe(defer_import=False):
    import tensorflow as tf

    devices = ["cpu"]
    try:
        gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # noqa: BLE001
        gpus = []
    devices.extend("cuda:%d" % i for i in range(len(gpus)))
    return dict(framework_version=tf.__version__, runtime="tensorflow", devices=devices)


def keras_cache_dir():
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(base, "models")


def cached_imagenet_weights(model):
    """Path of Keras' cached imagenet weights for a model, or None (never downloaded)."""
    entry = APPLICATIONS.get(model)
    if entry is None:
        return None
    path = os.path.join(keras_cache_dir(), entry[1])
    return path if os.path.isfile(path) else None


def build_keras(model):
    """(Keras model, "pretrained" | "random") for a catalog model."""
    if model in APPLICATIONS:
        import keras

        ctor = getattr(keras.applications, APPLICATIONS[model][0])
        weights = cached_imagenet_weights(model)
        net = ctor(weights=weights)  # a path loads that file; None: random initialisation
        return net, "pretrained" if weights else "random"
    if model in OWN_MODELS:
        import backend_tf_models

        return backend_tf_models.OWN[model](), "random"
    raise TenantFailure("tensorflow has no catalog model %r" % (model,))


def preprocessing_mode(model):
    if model in APPLICATIONS:
        return APPLICATIONS[model][2]
    return "torch_nhwc"


class Backend(object):
    # tracing a tf.function and building Keras graphs from several threads at once is
    # avoided: loads and warm-ups of a process's tenants run one at a time.
    serial_warmup = True

    def __init__(self, spec, log):
        self.spec = spec
        self.log = log
        self.model_name = spec.get("model")
        self.input_size = INPUT_SIZE.get(self.model_name, 224)
        self.mode = preprocessing_mode(self.model_name)

    def _device(self, tf):
        res = self.spec.get("resource") or "cpu"
        if res == "cpu":
            return "/CPU:0"
        if res.startswith("cuda:"):
            idx = int(res.split(":", 1)[1])
            gpus = tf.config.list_physical_devices("GPU")
            if idx >= len(gpus):
                raise TenantFailure("%s is not available: tensorflow sees %d GPU(s)" % (res, len(gpus)))
            return "/GPU:%d" % idx
        raise TenantFailure("tensorflow cannot run on resource %r: use cpu or cuda:N" % res)

    def load(self):
        import tensorflow as tf

        self.tf = tf
        info = {"runtime": "tensorflow %s" % tf.__version__}
        threads = self.spec.get("threads")
        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(int(threads))
                tf.config.threading.set_inter_op_parallelism_threads(int(threads))
                info["threads_note"] = "tf threading is process-wide"
            except RuntimeError as exc:  # already initialised by an earlier tenant
                info["threads_note"] = "threads=%s not applied: %s" % (threads, str(exc).splitlines()[0])
        self.device = self._device(tf)
        path = self.spec.get("file")
        with tf.device(self.device):
            if path:
                self.net = self._from_file(path)
                info["weights"] = "file"
            else:
                self.net, weights = build_keras(self.model_name)
                info["weights"] = weights
                if weights == "random":
                    info["note"] = RANDOM_NOTE
        shape = self.net.inputs[0].shape
        if shape[1] is not None:
            self.input_size = int(shape[1])
        net = self.net
        self.fn = tf.function(lambda x: net(x, training=False), jit_compile=False)
        return info

    def _from_file(self, path):
        if not os.path.isfile(path):
            raise TenantFailure("model file %s does not exist" % path)
        if not path.endswith(".keras"):
            raise TenantFailure("tensorflow loads .keras files only (got %s)" % path)
        import keras

        try:
            return keras.models.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001
            raise TenantFailure("%s is not a loadable .keras model: %s" % (path, (str(exc).splitlines() or [""])[0][:200]))

    def fit_batch(self, asked):
        return asked, None

    def host_batch(self, batch_u8):
        return normalise(batch_u8, self.mode)

    def to_device(self, host):
        with self.tf.device(self.device):
            return self.tf.identity(self.tf.constant(host))

    def feed(self, x):
        self.x = x

    def call(self):
        out = self.fn(self.x)
        return out.numpy()  # waits for the result

    def close(self):
        self.net = None
        self.fn = None
        self.x = None
