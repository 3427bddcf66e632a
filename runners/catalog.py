"""The model catalog: the nine networks of the study's Table I and which frameworks run them.

Parameter counts and GFLOPs (multiply-accumulates x 1e-9 for one 1-image forward pass)
are the reference figures of the torchvision / Keras model cards; the study's Table I
lists the same networks. ONNX Runtime runs all nine (exported from the torch models). TFLite runs only the three models whose full-int8 versions the
study used (and which fit an EdgeTPU): inception_v3, mobilenet_v1, mobilenet_v2.
"""
from dataclasses import dataclass

FRAMEWORKS = ("torch", "tensorflow", "tflite", "mxnet", "onnxruntime")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    title: str
    input_size: int  # square input side in pixels
    params_m: float  # millions of parameters
    gflops: float
    frameworks: tuple

    def supports(self, framework: str) -> bool:
        return framework in self.frameworks


# onnxruntime runs all nine: ONNX files exported from the torch models (edgemt models prepare onnx).
_ALL = ("torch", "tensorflow", "mxnet", "onnxruntime")
_WITH_TFLITE = ("torch", "tensorflow", "tflite", "mxnet", "onnxruntime")

CATALOG = {
    m.name: m
    for m in (
        ModelInfo("alexnet", "AlexNet", 224, 61.1, 0.71, _ALL),
        ModelInfo("densenet161", "DenseNet-161", 224, 28.7, 7.73, _ALL),
        ModelInfo("resnet18", "ResNet-18", 224, 11.7, 1.81, _ALL),
        ModelInfo("resnet50", "ResNet-50", 224, 25.6, 4.09, _ALL),
        ModelInfo("squeezenet1_0", "SqueezeNet 1.0", 224, 1.25, 0.82, _ALL),
        ModelInfo("vgg16", "VGG-16", 224, 138.4, 15.47, _ALL),
        ModelInfo("inception_v3", "Inception-V3", 299, 27.2, 5.71, _WITH_TFLITE),
        ModelInfo("mobilenet_v1", "MobileNet-V1", 224, 4.2, 0.57, _WITH_TFLITE),
        ModelInfo("mobilenet_v2", "MobileNet-V2", 224, 3.5, 0.30, _WITH_TFLITE),
    )
}


def model_names():
    return sorted(CATALOG)
