"""Checks that need no framework: Python 3.6 syntax, the compiler-log parser, failure reasons."""
import subprocess
import sys

import pytest

from child_harness import CHILD_DIR

sys.path.insert(0, str(CHILD_DIR))
import child_io  # noqa: E402
import prepare_tflite  # noqa: E402


# edgetpu_compiler 15.0 output for one model, as published in a public project's README
# (yolov3-tiny int8, "compile_edgetpu.sh"); the operator table is cut.
ONE_MODEL = """Edge TPU Compiler version 15.0.340273435

Model compiled successfully in 577 ms.

Input model: /home/yolo/yolov3-tiny_int8.tflite
Input size: 8.58MiB
Output model: /home/yolo/yolov3-tiny_int8_edgetpu.tflite
Output size: 8.70MiB
On-chip memory used for caching model parameters: 3.00KiB
On-chip memory remaining for caching model parameters: 7.67MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 36
Operation log: /home/yolo/yolov3-tiny_int8_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 2
Number of operations that will run on CPU: 34

Operator                       Count      Status

MAX_POOL_2D                    6          More than one subgraph is not supported
"""

# Co-compilation prints one such block per input model (Coral's compiler documentation,
# https://coral.ai/docs/edgetpu/compiler/, "parameter data caching"). This text joins two
# published compiler outputs the way one co-compile run lists them: a model whose
# parameters spill off-chip (FRC_model, compiler 16.0, public README) and a facenet block
# (compiler 15.0, public Qiita article).
CO_COMPILED = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Models compiled successfully in 2433 ms.

Input model: FRC_model.tflite
Input size: 8.05MiB
Output model: FRC_model_edgetpu.tflite
Output size: 14.17MiB
On-chip memory used for caching model parameters: 7.14MiB
On-chip memory remaining for caching model parameters: 1.75KiB
Off-chip memory used for streaming uncached model parameters: 6.63MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 141
Operation log: FRC_model_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 138
Number of operations that will run on CPU: 3

Input model: facenet_keras.tflite
Input size: 22.71MiB
Output model: facenet_keras_edgetpu.tflite
Output size: 22.43MiB
On-chip memory used for caching model parameters: 7.04MiB
On-chip memory remaining for caching model parameters: 1.25KiB
Off-chip memory used for streaming uncached model parameters: 15.06MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 214
Operation log: facenet_keras_edgetpu.log

Operator                       Count      Status

CONV_2D                        132        Mapped to Edge TPU
Compilation child process completed within timeout period.
Compilation succeeded!
"""


def test_parse_one_model_log():
    out = prepare_tflite.parse_compiler_log(ONE_MODEL)
    assert list(out) == ["yolov3-tiny_int8.tflite"]
    m = out["yolov3-tiny_int8.tflite"]
    assert m["on_chip_bytes"] == 3 * 1024
    assert m["on_chip_remaining_bytes"] == round(7.67 * 1024 ** 2)
    assert m["off_chip_bytes"] == 0
    assert m["output_model"] == "/home/yolo/yolov3-tiny_int8_edgetpu.tflite"
    assert (m["total_ops"], m["ops_on_edgetpu"], m["ops_on_cpu"], m["subgraphs"]) == (36, 2, 34, 1)


def test_parse_co_compiled_log():
    out = prepare_tflite.parse_compiler_log(CO_COMPILED)
    assert list(out) == ["FRC_model.tflite", "facenet_keras.tflite"]
    frc, face = out["FRC_model.tflite"], out["facenet_keras.tflite"]
    assert frc["on_chip_bytes"] == round(7.14 * 1024 ** 2)
    assert frc["off_chip_bytes"] == round(6.63 * 1024 ** 2)
    assert (frc["ops_on_edgetpu"], frc["ops_on_cpu"]) == (138, 3)
    assert face["off_chip_bytes"] == round(15.06 * 1024 ** 2)
    assert face["on_chip_remaining_bytes"] == round(1.25 * 1024)
    # every op mapped: the compiler prints no per-device counts, so all are on the EdgeTPU
    assert (face["total_ops"], face["ops_on_edgetpu"], face["ops_on_cpu"]) == (214, 214, 0)


def test_size_units():
    assert prepare_tflite.size_bytes("0.00B") == 0
    assert prepare_tflite.size_bytes("1.50KiB") == 1536
    assert prepare_tflite.size_bytes("2MB") == 2_000_000
    assert prepare_tflite.size_bytes("n/a") is None


def test_failure_reason_is_type_and_first_line_trimmed():
    exc = RuntimeError("first line\nsecond line")
    assert child_io.reason_of(exc) == "RuntimeError: first line"
    long = child_io.reason_of(ValueError("x" * 1000))
    assert len(long) == 300 and long.startswith("ValueError: xxx") and long.endswith("...")
    assert child_io.failure_reason(child_io.TenantFailure("plain reason")) == "plain reason"


def _child_main():
    import child_main

    return child_main


def test_mxnet_on_new_numpy_names_the_fix():
    main = _child_main()
    # the message mxnet 1.9.1 raises at import under numpy >= 1.24
    exc = AttributeError("module 'numpy' has no attribute 'bool'.\n`np.bool` was a deprecated alias ...")
    reason = main.import_failure("mxnet", exc)
    assert reason.startswith("AttributeError: module 'numpy' has no attribute 'bool'.")
    assert "pip install numpy==1.23.5" in reason
    assert "numpy==" not in main.import_failure("torch", ImportError("No module named 'torch'"))


def test_probe_of_a_framework_that_does_not_import_fails_with_exit_3():
    import json

    # the controller's python has no torch
    proc = subprocess.run([sys.executable, "-u", str(CHILD_DIR), "--framework", "torch", "--probe"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if proc.returncode == 0:
        pytest.skip("torch imports in the controller's python")
    assert proc.returncode == 3
    ev = json.loads(proc.stdout)
    assert ev == {"ev": "failed", "tenant": None, "reason": ev["reason"]}
    assert ev["reason"].startswith("ModuleNotFoundError: No module named 'torch'")
