#!/usr/bin/env bash
# edgemt vs the raw CME baseline on a real NVIDIA GPU, in one go (about 6 minutes).
# On the lent device machine (Python 3.12 with torch, torchvision, timm, psutil, rich,
# numpy preinstalled) the controller's other packages travel as wheels in .whl/
# (pip download --python-version 3.12 ... tomli-w pillow; see docs/benchmarks.md).
# Elsewhere: run from the repo with the project's .venv and a CUDA torch environment.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
  mkdir -p /tmp/edgemt-bin
  printf '#!/bin/sh\nexec python3 -c "import sys; from tui.cli import main; sys.argv[0]=\\"edgemt\\"; main()" "$@"\n' > /tmp/edgemt-bin/edgemt
  chmod +x /tmp/edgemt-bin/edgemt
  EDGEMT=/tmp/edgemt-bin/edgemt
  PY=python3
else
  EDGEMT=.venv/bin/edgemt
  PY=$(.venv/bin/python -c "from runners.environments import find_python; print(find_python(\"torch\").python)")
fi
export XDG_CONFIG_HOME=$(mktemp -d)
# cme_baseline.py imports torch: run it with the torch interpreter edgemt will use.
# The GPU's torch is the machine's own interpreter (as with JetPack's python3 on a Jetson).
if python3 -c "import torch" 2>/dev/null; then $EDGEMT env use torch "$(command -v python3)"; fi
PYTHONUNBUFFERED=1 $PY bench/gpu_check.py --edgemt "$EDGEMT" "$@"
