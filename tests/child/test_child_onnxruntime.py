"""Real onnxruntime children (the CPU provider) on ONNX files exported from the torch models,
and the option and engine-cache building of the GPU providers (which cannot run here)."""
import json

import pytest

from child_harness import run_in_env
from edgemt_testlib import ensure_onnx_models

MB2 = dict(model="mobilenet_v2", framework="onnxruntime")


def test_provider_options_and_engine_cache_keys():
    out = run_in_env("onnxruntime", r'''
import json
import backend_onnxruntime as b
from child_io import TenantFailure
r = {}
r["trt_fp16"] = b.provider_plan("tensorrt", 1, "fp16", "/c", "input", [8, 3, 224, 224])
r["dla_int8"] = b.provider_plan("dla", 1, "int8", "/c")
r["cuda"] = b.provider_plan("cuda", 2, "fp32")
r["cpu"] = b.provider_plan("cpu", None, "fp32")
base = ("/root", "10.3.0", "/m/resnet18_fp32.onnx", "abc", "fp16", 8, "tensorrt", 0)
keys = [b.engine_cache_dir(*base)]
for i, other in ((1, "10.4.0"), (3, "def"), (4, "int8"), (5, 16), (6, "dla"), (7, 1)):
    changed = list(base); changed[i] = other; keys.append(b.engine_cache_dir(*changed))
r["keys"] = keys
r["same"] = b.engine_cache_dir(*base) == keys[0]
r["root"] = b.cache_root({"XDG_CACHE_HOME": "/xdg"})
r["settings"] = [b.session_settings(None), b.session_settings(2)]
r["precision"] = [b.resolve_precision("dla", None), b.resolve_precision("cpu", None), b.resolve_precision("cpu", "int8")]
try:
    b.resolve_precision("cuda", "int8")
except TenantFailure as e:
    r["bad_precision"] = str(e)
r["files"] = [b.model_file_name("resnet18", p) for p in ("fp32", "fp16", "int8")]
r["trt_version_here"] = b.tensorrt_version()

class Session(object):  # a GPU provider built in but not loading: ORT drops it from the session
    def __init__(self, model, sess_options=None, providers=None):
        self.p = [p for p in providers if p != "TensorrtExecutionProvider"]
    def get_providers(self):
        return self.p
class FakeOrt(object):
    InferenceSession = Session
    class SessionOptions(object):
        pass
listed = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
r["loading"] = b.loading_providers(FakeOrt, listed, 1)
r["loading_no_gpu"] = b.loading_providers(FakeOrt, listed, 0)
print(json.dumps(r))
''')
    r = json.loads(out)
    trt, cuda, cpu = r["trt_fp16"]
    assert trt[0] == "TensorrtExecutionProvider" and cuda[0] == "CUDAExecutionProvider" and cpu[0] == "CPUExecutionProvider"
    o = trt[1]
    assert (o["device_id"], o["trt_fp16_enable"], o["trt_int8_enable"], o["trt_engine_cache_enable"]) == (
        "1", "True", "False", "True")
    assert o["trt_engine_cache_path"] == "/c" and "trt_dla_enable" not in o
    assert o["trt_profile_min_shapes"] == o["trt_profile_max_shapes"] == "input:8x3x224x224"
    d = r["dla_int8"][0][1]
    # DLA core 1 on the Jetson's GPU 0, int8, GPU fallback (ORT enables it with the DLA)
    assert (d["device_id"], d["trt_dla_enable"], d["trt_dla_core"], d["trt_int8_enable"]) == ("0", "True", "1", "True")
    assert r["cuda"] == [["CUDAExecutionProvider", {"device_id": "2"}], ["CPUExecutionProvider", {}]]
    assert r["cpu"] == [["CPUExecutionProvider", {}]]
    keys = r["keys"]
    assert len(set(keys)) == len(keys) and r["same"]  # every part of the key makes another folder
    assert keys[0] == "/root/trt-10.3.0/resnet18_fp32-abc/fp16-b8-tensorrt0"
    assert r["root"] == "/xdg/edgemt/tensorrt"
    assert r["settings"][0] == {"inter_op_num_threads": 1, "config": {"session.intra_op.allow_spinning": "0"}}
    assert r["settings"][1]["intra_op_num_threads"] == 2
    assert r["precision"] == ["fp16", "fp32", "int8"]
    assert "precision=int8 does not run on cuda; it runs fp32" in r["bad_precision"]
    assert r["files"] == ["resnet18_fp32.onnx", "resnet18_fp32.onnx", "resnet18_int8.onnx"]
    assert r["trt_version_here"] is None
    assert r["loading"] == ["CPUExecutionProvider", "CUDAExecutionProvider"]
    assert r["loading_no_gpu"] == ["CPUExecutionProvider"]


def test_probe_lists_the_cpu_provider(child_factory):
    hello = child_factory("onnxruntime", "--probe").wait_ev("hello")
    assert hello["runtime"] == "onnxruntime" and hello["providers"] == ["CPUExecutionProvider"]
    assert hello["devices"] == ["cpu"]


def test_fp32_and_int8_tenants_as_threads_of_one_child():
    models = ensure_onnx_models(["mobilenet_v2"], "int8")
    from child_harness import Child

    c = Child("onnxruntime")
    try:
        c.wait_ev("hello", timeout=120)
        c.start("f", batch=1, models_dir=str(models), threads=1, **MB2)
        c.start("q", batch=2, models_dir=str(models), threads=1, precision="int8", **MB2)
        loaded = {t: c.wait_ev("loaded", t, timeout=120) for t in ("f", "q")}
        assert loaded["f"]["precision"] == "fp32" and loaded["q"]["precision"] == "int8"
        assert loaded["f"]["model_file"].endswith("mobilenet_v2_fp32.onnx")
        assert loaded["q"]["model_file"].endswith("mobilenet_v2_int8.onnx")
        assert loaded["f"]["opset"] == 17 and "TorchScript" in loaded["f"]["exporter"]
        for t, batch in (("f", 1), ("q", 2)):
            w = c.windows(t, 1, timeout=120, pred=lambda w: w["images"] > 0)[0]
            assert w["batch"] == batch and w["images"] == batch * w["batches"]
        c.send(cmd="set_batch", tenant="f", batch=3)
        c.wait_for(lambda e: e["ev"] == "window" and e["tenant"] == "f" and e["batch"] == 3 and e["images"] > 0,
                   120, "a batch-3 window")
    finally:
        c.close()


def test_missing_provider_and_bad_files_fail_the_tenant(child_factory, tmp_path):
    models = ensure_onnx_models(["mobilenet_v2"])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 not an onnx model")
    c = child_factory("onnxruntime")
    c.start("gpu", resource="cuda:0", models_dir=str(models), **MB2)
    reason = c.wait_ev("failed", "gpu")["reason"]
    assert "has no CUDAExecutionProvider" in reason and "onnxruntime-gpu" in reason
    c.start("j", file=str(junk), **MB2)
    assert "does not load in onnxruntime" in c.wait_ev("failed", "j")["reason"]
    c.start("m", models_dir=str(tmp_path), model="resnet50", framework="onnxruntime")
    assert "edgemt models prepare onnx resnet50" in c.wait_ev("failed", "m")["reason"]
