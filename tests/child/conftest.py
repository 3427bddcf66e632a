import subprocess

import pytest

from child_harness import TEST_MODELS, CHILD_DIR, child_factory, python_for  # noqa: F401


@pytest.fixture(scope="session")
def tflite_models_dir():
    """A models_dir holding tflite/mobilenet_v2_int8.tflite (prepared once, cached across runs)."""
    out = TEST_MODELS / "tflite"
    out.mkdir(parents=True, exist_ok=True)
    prepare_tflite(["mobilenet_v2"], out)
    return TEST_MODELS


def prepare_tflite(models, out, timeout=300):
    py = python_for("tensorflow")
    proc = subprocess.run(
        [py, str(CHILD_DIR / "prepare_tflite.py"), "--out", str(out), *models],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
