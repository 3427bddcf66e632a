"""The controller stays small: importing the core and the headless CLI loads neither
textual nor any deep-learning framework (they live in runner children and tui's app)."""
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ["textual", "torch", "torchvision", "tensorflow", "keras", "mxnet", "tflite_runtime",
             "ai_edge_litert", "pycoral", "timm", "jax"]


def _modules(package):
    out = [package]
    path = REPO / package.replace(".", "/")
    for info in pkgutil.walk_packages([str(path)], prefix=package + "."):
        if info.name.startswith("runners.child.") and info.name.split(".")[-1] not in ("wire", "latency"):
            continue  # the child side runs in framework environments, never in the controller
        out.append(info.name)
    return out


def test_core_and_headless_cli_import_no_framework_and_no_textual():
    mods = []
    for pkg in ("runners", "collectors", "storage"):
        mods += _modules(pkg)
    mods += ["tui.cli", "tui.headless", "tui.info", "tui.session"]
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(json.dumps(sorted(n for n in {FORBIDDEN!r} if n in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert len(mods) > 15  # the walk really found the packages

