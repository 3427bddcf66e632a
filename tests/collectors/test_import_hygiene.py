"""Importing collectors (and building every collector) loads no UI, framework or hardware library."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_and_construct_load_nothing_optional():
    code = (
        "import sys, collectors\n"
        "cols = collectors.default_collectors()\n"
        "bad = [m for m in ('textual', 'torch', 'tensorflow', 'tflite_runtime', 'onnxruntime',\n"
        "                   'pynvml', 'jtop', 'ina219', 'Adafruit_GPIO') if m in sys.modules]\n"
        "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
