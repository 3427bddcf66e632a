"""Entry point of a runner child: ``PYTHON -u runners/child [--framework F] [--probe] [--check SPEC]``.

Everything lives in child_main.py (importable, so tests can run the same main loop with
other backends injected); this file only runs it. See docs/child.md.
"""
import os
import sys

from child_main import main

if __name__ == "__main__":
    code = main()
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    # os._exit: framework atexit hooks and non-daemon runtime threads must not hang the exit.
    os._exit(code)
