"""onnxruntime on the controller's side: SPEC rules (resources, precision=), moves, the
managed environment's pins and variant, and the placement check against the probe's
providers (hello answers given, no environment needed)."""
import pytest

from runners import environments
from runners.errors import BadInput
from runners.placement import PlacementChecker
from runners.spec import kept_precision, parse_spec


def test_onnxruntime_spec_defaults_and_resources():
    s = parse_spec("resnet18,framework=onnxruntime")
    assert (s.framework, s.resource, s.isolation, s.precision) == ("onnxruntime", "cpu", "thread", None)
    for res in ("cuda:0", "tensorrt:1", "dla:0"):
        assert parse_spec(f"resnet18,framework=onnxruntime,resource={res}").placement == f"onnxruntime@{res}"
    s = parse_spec("mobilenet_v2,framework=onnxruntime,resource=tensorrt:0,precision=fp16,isolation=process")
    assert s.precision == "fp16" and parse_spec(str(s)) == s


@pytest.mark.parametrize("text,words", [
    ("resnet18,resource=tensorrt:0", "resource tensorrt:0 runs only framework=onnxruntime"),
    ("mobilenet_v2,framework=tflite,resource=dla:0", "runs only framework=onnxruntime"),
    ("mobilenet_v2,framework=onnxruntime,resource=edgetpu", "resource edgetpu runs only framework=tflite"),
    ("resnet18,precision=int8", "precision= is an onnxruntime option"),
    ("resnet18,framework=onnxruntime,precision=fp16", "precision='fp16' does not run on cpu; accepted there: fp32, int8"),
    ("resnet18,framework=onnxruntime,resource=cuda:0,precision=int8", "accepted there: fp32"),
    ("resnet18,framework=onnxruntime,resource=dla:0,precision=fp32", "accepted there: fp16, int8"),
    ("resnet18,framework=onnxruntime,precision=int4", "precision='int4' does not run on cpu"),
    ("resnet18,framework=onnxruntime,resource=tensorrt", "unknown resource 'tensorrt'"),
])
def test_bad_onnxruntime_specs(text, words):
    with pytest.raises(BadInput) as e:
        parse_spec(text)
    assert words in str(e.value)


def test_a_move_keeps_the_precision_only_where_it_runs():
    assert kept_precision("int8", "onnxruntime", "tensorrt:0") == "int8"
    assert kept_precision("int8", "onnxruntime", "cpu") == "int8"
    assert kept_precision("fp16", "onnxruntime", "cpu") is None  # the CPU default (fp32)
    assert kept_precision("int8", "torch", "cpu") is None
    assert kept_precision(None, "onnxruntime", "dla:0") is None


def test_env_pins_cpu_and_gpu_variants(tmp_path):
    assert environments.variant_for("onnxruntime", "x86_64", cuda=False) == "onnxruntime"
    assert environments.variant_for("onnxruntime", "x86_64", cuda=True) == "onnxruntime-gpu"
    # no aarch64 onnxruntime-gpu wheel on PyPI: a Jetson uses JetPack's wheel with env use
    assert environments.variant_for("onnxruntime", "aarch64", cuda=True) == "onnxruntime"
    assert environments.variant_for("torch", "x86_64", cuda=True) == "torch"
    cpu = environments.pins_for("onnxruntime", "aarch64")
    gpu = environments.pins_for("onnxruntime-gpu", "x86_64")
    assert "onnxruntime==1.32.0" in cpu and "onnxruntime-gpu==1.31.1" in gpu
    assert all(any(p.startswith("onnx==") for p in pins) for pins in (cpu, gpu))  # quantisation needs onnx
    driver = tmp_path / "version"
    assert not environments.cuda_present(str(driver))
    driver.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module\n")
    assert environments.cuda_present(str(driver))


def _checker(hello):
    checker = PlacementChecker(cfg={}, prober=lambda fw, py: hello)
    checker.python_for = lambda fw: "/usr/bin/python3"
    return checker


CPU_ONLY = {"ev": "hello", "framework_version": "1.32.0", "devices": ["cpu"], "providers": ["CPUExecutionProvider"]}
GPU = {"ev": "hello", "framework_version": "1.31.1", "devices": ["cpu", "cuda:0"],
       "providers": ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]}


@pytest.mark.parametrize("resource,words", [
    ("cuda:0", "needs onnxruntime's CUDAExecutionProvider, which does not load here"),
    ("tensorrt:0", "TensorrtExecutionProvider"),
    ("dla:0", "TensorrtExecutionProvider"),
])
def test_a_missing_provider_is_bad_input_naming_what_to_install(resource, words):
    spec = parse_spec(f"resnet18,framework=onnxruntime,resource={resource}")
    with pytest.raises(BadInput) as e:
        _checker(CPU_ONLY).check(spec)
    text = str(e.value)
    assert words in text and "loads CPUExecutionProvider" in text
    assert "onnxruntime-gpu" in text and "edgemt env use onnxruntime /usr/bin/python3" in text


def test_providers_that_load_pass_and_a_missing_gpu_is_named():
    _checker(CPU_ONLY).check(parse_spec("resnet18,framework=onnxruntime"))
    _checker(GPU).check(parse_spec("resnet18,framework=onnxruntime,resource=tensorrt:0,precision=int8"))
    _checker(GPU).check(parse_spec("resnet18,framework=onnxruntime,resource=dla:1"))
    with pytest.raises(BadInput) as e:
        _checker(GPU).check(parse_spec("resnet18,framework=onnxruntime,resource=tensorrt:1"))
    assert "GPU 1 not found by onnxruntime; CUDA devices here: cuda:0" in str(e.value)


def test_the_add_and_move_forms_offer_the_providers_that_load():
    from tui.screens.add_group import resources_for

    assert resources_for("onnxruntime", {"onnxruntime": CPU_ONLY}) == ["cpu"]
    assert resources_for("onnxruntime", {"onnxruntime": GPU}) == ["cpu", "cuda:0", "tensorrt:0"]
    cuda_only = dict(GPU, providers=["CPUExecutionProvider", "CUDAExecutionProvider"])
    assert resources_for("onnxruntime", {"onnxruntime": cuda_only}) == ["cpu", "cuda:0"]
    assert resources_for("torch", {"torch": dict(GPU)}) == ["cpu", "cuda:0"]
