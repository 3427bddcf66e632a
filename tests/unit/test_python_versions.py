"""The boards' Pythons: the controller runs on 3.8 (JetPack 5, Ubuntu 20.04; Raspberry Pi OS
Bullseye has 3.9), runner children on 3.6 (JetPack 4).

No interpreter but this one can be installed on the development machine, so the checks are
static: vermin (the virtualenv's own, never skipped: a missing vermin fails) over the
controller packages at 3.8 and over runners/child at 3.6, plus what vermin cannot see
without types: PEP 604/585 annotations (``int | None``, ``list[int]``) outside modules that
defer their evaluation, and the 3.9 dict union operator on dict displays.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTROLLER = ["tui", "runners", "storage", "collectors", "themes"]
CHILD = REPO / "runners" / "child"


# The only lines vermin is told to pass over (``# novermin``), each with its fallback beside it.
EXEMPT = {("runners/config.py", "import tomllib  # novermin (the except below is the fallback for 3.8-3.10)")}


def vermin(*args):
    exe = Path(sys.executable).parent / "vermin"
    assert exe.exists(), f"{exe} is missing: `pip install -e '.[test]'` installs vermin"
    return subprocess.run([str(exe), "--violations", "--no-tips", *map(str, args)],
                          capture_output=True, text=True)


def controller_files():
    out = []
    for pkg in CONTROLLER:
        out += [p for p in (REPO / pkg).rglob("*.py") if CHILD not in p.parents]
    assert len(out) > 40  # the walk found the packages
    return out


def test_controller_is_python38_compatible():
    proc = vermin("-t=3.8-", *controller_files())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_known_lines_are_exempt_from_vermin():
    marked = {(str(f.relative_to(REPO)), line.strip())
              for f in controller_files() + list(CHILD.rglob("*.py"))
              for line in f.read_text().splitlines() if "novermin" in line or "# novm" in line}
    assert marked == EXEMPT


def test_child_side_is_python36_compatible():
    proc = vermin("-t=3.6-", CHILD)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("source, target", [
    ("if (n := 3):\n    pass\n", "-t=3.6-"),               # walrus: 3.8
    ("import tomllib\n", "-t=3.8-"),                      # 3.11
    ("import asyncio\nasyncio.to_thread(print)\n", "-t=3.8-"),  # 3.9
    ("'ab'.removesuffix('b')\n", "-t=3.8-"),              # 3.9
])
def test_vermin_catches_what_the_boards_lack(tmp_path, source, target):
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    assert vermin(target, bad).returncode != 0


def runtime_annotation_problems(path: Path) -> list:
    """Lines whose annotations need 3.9/3.10 at run time (PEP 585 generics, PEP 604 unions)
    in a module without ``from __future__ import annotations``, and dict displays joined
    with ``|`` (3.9)."""
    tree = ast.parse(path.read_text(), str(path))
    deferred = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                   and any(a.name == "annotations" for a in n.names) for n in tree.body)
    dict_like = (ast.Dict, ast.DictComp)
    problems = []

    def modern(node):
        for n in ast.walk(node):
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
                return True
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and \
                    n.value.id in ("list", "dict", "tuple", "set", "frozenset", "type"):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and \
                (isinstance(node.left, dict_like) or isinstance(node.right, dict_like)):
            problems.append(f"{path}:{node.lineno}: dict | dict (3.9)")
        if deferred:
            continue
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            anns += [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]
            anns += [node.returns] if node.returns else []
        if isinstance(node, ast.AnnAssign):
            anns.append(node.annotation)
        problems += [f"{path}:{a.lineno}: evaluated annotation needs 3.9+" for a in anns if modern(a)]
    return problems


def test_no_runtime_annotations_or_dict_unions_beyond_38():
    problems = [p for f in controller_files() for p in runtime_annotation_problems(f)]
    assert problems == []


def test_the_annotation_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int | None) -> list[int]:\n    return {} | {'a': 1}\n")
    assert len(runtime_annotation_problems(bad)) == 3
    good = tmp_path / "good.py"
    good.write_text("from __future__ import annotations\ndef f(x: int | None) -> list[int]:\n    return [1]\n")
    assert runtime_annotation_problems(good) == []


def test_the_floor_is_stated_once_and_everywhere(tmp_path):
    """pyproject, `edgemt env list` and the README say the same floor the checks above use."""
    import json
    import re

    from tui.info import CHILD_PYTHON_FLOOR, CONTROLLER_PYTHON_FLOOR

    assert (CONTROLLER_PYTHON_FLOOR, CHILD_PYTHON_FLOOR) == ("3.8", "3.6")  # the vermin targets above
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^requires-python = ">=3\.8"$', pyproject, re.M)
    assert "Python 3.8+" in (REPO / "README.md").read_text()
    import os

    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    proc = subprocess.run([str(Path(sys.executable).parent / "edgemt"), "env", "list", "--json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    ctl = json.loads(proc.stdout)["controller"]
    assert ctl["needs_python"] == "3.8+" and ctl["children_need_python"] == "3.6+"
    assert ctl["python_version"] == ".".join(map(str, sys.version_info[:3]))
