import pytest

from child_harness import TEST_MODELS, child_factory, prepare_tflite  # noqa: F401


@pytest.fixture(scope="session")
def tflite_models_dir():
    """A models_dir holding tflite/mobilenet_v2_int8.tflite (prepared once, cached across runs)."""
    out = TEST_MODELS / "tflite"
    out.mkdir(parents=True, exist_ok=True)
    prepare_tflite(["mobilenet_v2"], out)
    return TEST_MODELS
