"""Probe children: ask a framework environment what it has, without importing it here.

``python runners/child --probe --framework F`` prints one ``hello`` line (versions and the
devices the framework sees) and exits. Answers are cached for the controller's life.
"""
import json
import subprocess
import sys
from pathlib import Path

from runners.child import wire

CHILD_DIR = Path(__file__).resolve().parent / "child"
_cache = {}


def child_command(python: str, framework: str, probe: bool = False) -> list:
    cmd = [python, "-u", str(CHILD_DIR), "--framework", framework]
    return cmd + ["--probe"] if probe else cmd


def probe(framework: str, python: str, timeout: float = 180.0) -> dict:
    """The hello of a probe child; on failure ``{"ev": "failed", "reason": ...}``."""
    key = (framework, python)
    if key in _cache:
        return _cache[key]
    try:
        proc = subprocess.run(child_command(python, framework, probe=True), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except FileNotFoundError:
        return {"ev": "failed", "reason": f"interpreter {python} not found"}
    except subprocess.TimeoutExpired:
        return {"ev": "failed", "reason": f"probe of {framework} with {python} took over {timeout:.0f} s"}
    answer = None
    for line in proc.stdout.decode(errors="replace").splitlines():
        msg = wire.decode(line)
        if msg and msg.get("ev") in ("hello", "failed"):
            answer = msg
    if answer is None:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        answer = {"ev": "failed", "reason": f"probe exited {proc.returncode}: {tail[0][:300]}"}
    _cache[key] = answer
    return answer


def clear_cache() -> None:
    _cache.clear()


if __name__ == "__main__":  # python -m runners.probe FRAMEWORK PYTHON
    print(json.dumps(probe(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else sys.executable)))
