"""The rooms of docs/design.md hold: the import-linter contracts in pyproject.toml pass on
the source tree, and each of them catches the violation it is there for (run on a copy of
the packages with one offending import added per contract)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tui", "runners", "collectors", "storage", "themes")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"  # installed by the test extras


def lint_imports(cwd: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd), COLUMNS="300")  # no wrapped names  # the packages under cwd, not the installed ones
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def test_the_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout
    assert "0 broken" in proc.stdout, proc.stdout


# contract id -> (file added to the copy, its source, text the report must show)
VIOLATIONS = {
    "layers": ("storage/probe_up.py", "import runners.spec\n", "storage.probe_up -> runners.spec"),
    "runners-no-collectors": ("runners/probe_sensors.py", "import collectors.host\n",
                              "runners.probe_sensors -> collectors.host"),
    "child-alone": ("runners/child/probe_controller.py", "import runners.spec\n",
                    "runners.child.probe_controller -> runners.spec"),
    "no-textual-below-tui": ("collectors/probe_ui.py", "import themes\n", "collectors.probe_ui -> themes"),
    "storage-owns-the-db": ("tui/probe_sql.py", "import sqlite3\n", "tui.probe_sql -> sqlite3"),
    "acyclic": ("tui/probe_cycle.py", "import tui.cli\n", ".probe_cycle"),
}


def contract_names() -> dict:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def broken_sections(report: str, names: dict) -> dict:
    """contract id -> its part of the "Broken contracts" section of a lint-imports report."""
    broken = report.split("Broken contracts", 1)[-1]
    starts = sorted((broken.index(f"\n{name}\n"), cid) for cid, name in names.items() if f"\n{name}\n" in broken)
    ends = [s for s, _ in starts[1:]] + [len(broken)]
    return {cid: broken[s:e] for (s, cid), e in zip(starts, ends)}


def test_each_contract_catches_its_violation(tmp_path):
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel, source, _ in VIOLATIONS.values():
        (tmp_path / rel).write_text(source)
    # the cycle's other half: tui.cli imports the probe that imports it
    with open(tmp_path / "tui" / "cli.py", "a") as f:
        f.write("\nimport tui.probe_cycle  # noqa\n")
    names = contract_names()
    assert set(VIOLATIONS) == set(names), "every contract needs a violation here"
    proc = lint_imports(tmp_path)
    assert proc.returncode != 0, proc.stdout
    sections = broken_sections(proc.stdout, names)
    for contract, (_, _, shown) in VIOLATIONS.items():
        assert shown in sections.get(contract, ""), f"{contract} did not catch {shown}:\n{proc.stdout}"
