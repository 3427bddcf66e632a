"""Framework environments: which Python runs each framework's children, and making them.

Deep-learning frameworks cannot share one environment (MXNet 1.9.1 needs numpy 1.23.5,
TensorFlow 2.21 needs numpy >= 1.26, tflite-runtime breaks on numpy 2), so each has
its own. Lookup order for a framework's interpreter:

1. the user's choice (``edgemt env use FRAMEWORK PYTHON``, saved in config.toml),
2. the managed environment ``$XDG_DATA_HOME/edgemt/envs/FRAMEWORK`` (``env create``),
3. the controller's own interpreter, if the framework imports there.

The controller never imports a framework itself: whether one imports is asked of the
interpreter in a subprocess (a probe child, see probe.py).
"""
import os
import platform
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from runners import config, paths
from runners.catalog import FRAMEWORKS
from runners.errors import BadInput

# Pinned packages of each managed environment, by machine architecture.
# torch 2.14.1 + torchvision 0.29.1 are the x86-64 pair that import together (2.13 with any
# torchvision fails at import); on 64-bit Arm the CPU pair 2.9.1 / 0.24.1.
PINS = {
    "torch": {
        "x86_64": ["torch==2.14.1", "torchvision==0.29.1", "timm==1.0.31", "numpy==2.4.6", "pillow==13.0.0"],
        "aarch64": ["torch==2.9.1", "torchvision==0.24.1", "timm==1.0.31", "numpy==2.4.6", "pillow==13.0.0"],
    },
    # LiteRT is ~12x faster on CPU than tflite-runtime 2.14; the fallback is for boards
    # where LiteRT has no wheel (tflite-runtime needs numpy < 2).
    "tflite": {"*": ["ai-edge-litert==2.3.0", "numpy==2.4.6", "pillow==13.0.0"]},
    "tflite-fallback": {"*": ["tflite-runtime==2.14.0", "numpy<2", "pillow"]},
    "tensorflow": {"x86_64": ["tensorflow-cpu==2.21.0", "pillow==13.0.0"]},
    # MXNet 1.9.1 uses np.bool, removed in numpy 1.24: it imports only with numpy <= 1.23.5.
    "mxnet": {"*": ["mxnet==1.9.1", "numpy==1.23.5", "pillow==13.0.0"]},
    # onnxruntime 1.32.0 has x86-64 and aarch64 CPU wheels for Python >= 3.11 (1.23.2 is the
    # last for 3.10); onnx is for the int8 quantisation (onnxruntime.quantization needs it).
    "onnxruntime": {"*": ["onnxruntime==1.32.0", "onnx==1.23.2", "numpy==2.4.6", "pillow==13.0.0"]},
    # Where an NVIDIA driver is found: the CUDA + TensorRT build (x86-64 only; 1.31.1 is its
    # newest). On a Jetson, JetPack's own wheel: 'edgemt env use onnxruntime /usr/bin/python3'.
    "onnxruntime-gpu": {"x86_64": ["onnxruntime-gpu==1.31.1", "onnx==1.23.2", "numpy==2.4.6", "pillow==13.0.0"]},
}

# The module each framework's import check loads.
IMPORT_NAME = {"torch": "torch", "tflite": None, "tensorflow": "tensorflow", "mxnet": "mxnet",
               "onnxruntime": "onnxruntime"}
# The NVIDIA kernel driver writes this file on a host with a discrete GPU (not on a Jetson).
NVIDIA_DRIVER_FILE = "/proc/driver/nvidia/version"


def cuda_present(driver_file: str = NVIDIA_DRIVER_FILE) -> bool:
    """Whether an NVIDIA driver is loaded here (read from /proc; no CUDA library is loaded)."""
    return os.path.exists(driver_file)


def variant_for(framework: str, machine: str = None, cuda: bool = None) -> str:
    """The PINS key a managed environment is made from: onnxruntime-gpu where a driver is
    found and a GPU wheel exists for the machine, else the framework itself."""
    if framework != "onnxruntime":
        return framework
    machine = machine or platform.machine()
    cuda = cuda_present() if cuda is None else cuda
    return "onnxruntime-gpu" if cuda and machine in PINS["onnxruntime-gpu"] else framework


def pins_for(framework: str, machine: str = None) -> list:
    machine = machine or platform.machine()
    table = PINS[framework]
    if machine in table:
        return list(table[machine])
    if "*" in table:
        return list(table["*"])
    raise BadInput(
        f"no managed {framework} environment for {machine}: install the board's own build "
        f"and point edgemt at it with 'edgemt env use {framework} /path/to/python'"
    )


def check_framework(framework: str) -> str:
    if framework not in FRAMEWORKS:
        raise BadInput(f"unknown framework {framework!r}; accepted: {', '.join(FRAMEWORKS)}")
    return framework


def managed_python(framework: str) -> Path:
    return paths.envs_dir() / framework / "bin" / "python"


@dataclass
class EnvChoice:
    framework: str
    python: str  # interpreter path
    source: str  # "config" | "managed" | "controller"


def find_python(framework: str, cfg: dict = None):
    """The EnvChoice for a framework, or None if no interpreter is known for it."""
    check_framework(framework)
    cfg = cfg if cfg is not None else config.load()
    chosen = cfg.get(config.ENV_TABLE, {}).get(framework)
    if chosen:
        return EnvChoice(framework, chosen, "config")
    managed = managed_python(framework)
    if managed.exists():
        return EnvChoice(framework, str(managed), "managed")
    if _imports_here(framework):
        return EnvChoice(framework, sys.executable, "controller")
    return None


def require_python(framework: str, cfg: dict = None) -> EnvChoice:
    """Like find_python, but a missing environment is a BadInput naming the fix."""
    choice = find_python(framework, cfg)
    if choice is None:
        raise BadInput(
            f"no {framework} environment: create it with 'edgemt env create {framework}' "
            f"or choose an interpreter with 'edgemt env use {framework} /path/to/python'"
        )
    if not Path(choice.python).exists():
        raise BadInput(
            f"the {framework} interpreter {choice.python} (from {choice.source}) does not exist: "
            f"'edgemt env create {framework}' or 'edgemt env use {framework} PYTHON'"
        )
    return choice


def _imports_here(framework: str) -> bool:
    # Asked in a subprocess: importing a framework into the controller is what we avoid.
    import importlib.util

    names = ["ai_edge_litert", "tflite_runtime"] if framework == "tflite" else [IMPORT_NAME[framework]]
    return any(importlib.util.find_spec(n) is not None for n in names)


def create(framework: str, log=print, pip_args=()) -> Path:
    """Makes (or brings up to its pins) the managed environment of a framework."""
    check_framework(framework)
    target = paths.envs_dir() / framework
    pins = pins_for(variant_for(framework))
    python = target / "bin" / "python"
    if not python.exists():
        log(f"creating {target}")
        venv.EnvBuilder(with_pip=True, clear=False).create(str(target))
    log(f"installing {' '.join(pins)}")
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *pip_args, *pins]
    result = subprocess.run(cmd)
    if result.returncode != 0 and framework == "tflite":
        log("ai-edge-litert did not install; falling back to tflite-runtime with numpy<2")
        cmd = [str(python), "-m", "pip", "install", "-q", *pip_args, *pins_for("tflite-fallback")]
        result = subprocess.run(cmd)
    if result.returncode != 0:
        raise RuntimeError(f"pip failed ({result.returncode}) installing the {framework} environment")
    return target


def use(framework: str, python: str, cfg_path: Path = None) -> dict:
    check_framework(framework)
    exe = Path(python).expanduser()
    if not exe.exists() or not os.access(exe, os.X_OK):
        raise BadInput(f"interpreter {python!r} does not exist or is not executable; give a path to a python binary")
    # Asked before saving: a path that is not a Python, or one without the framework, would
    # otherwise be saved and fail every later run.
    from runners import probe

    answer = probe.probe(framework, str(exe.absolute()))
    if answer.get("ev") != "hello":
        raise BadInput(f"{python!r} does not run {framework}: {answer.get('reason')}; nothing saved: give a python "
                       f"that imports {framework}")
    return config.update(cfg_path, **{config.ENV_TABLE: {framework: str(exe.absolute())}})
