"""What import-linter cannot see: SQL is written only in storage/ (the others call its named
read and write functions), and no package imports another package's private names."""
import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tui", "runners", "collectors", "storage", "themes")

# Statements as edgemt writes them (keywords in capitals); prose in docstrings is not code.
SQL = re.compile(r"\b(SELECT\b[\s\S]*?\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"(CREATE|ALTER|DROP)\s+(TABLE|INDEX|VIEW|TRIGGER)|PRAGMA\s+\w+)\b")
DB_CALLS = {"execute", "executemany", "executescript"}


def python_files(*packages):
    for pkg in packages:
        yield from sorted((ROOT / pkg).rglob("*.py"))


def docstrings(tree) -> set:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


@functools.lru_cache(maxsize=None)
def parse(source: str):
    return ast.parse(source)


def sql_in(source: str) -> list:
    """(line, what) for every SQL string literal and DB-API call in ``source``."""
    tree = parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            m = SQL.search(node.value)
            if m:
                found.append((node.lineno, m.group(0)[:40]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DB_CALLS:
            found.append((node.lineno, f".{node.func.attr}("))
    return sorted(found)


def private_imports(source: str, own_package: str) -> list:
    """(line, name) for every ``from other_package... import _name`` in ``source``."""
    found = []
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in PACKAGES and top != own_package:
                found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_the_detectors_see_what_they_look_for():
    assert sql_in('rows = conn.execute("SELECT id FROM runs WHERE id = ?", (1,))') == [
        (1, ".execute("), (1, "SELECT id FROM")]
    assert [w for _, w in sql_in('q = f"UPDATE runs SET status = {s!r}"')] == ["UPDATE runs SET"]
    assert [w for _, w in sql_in('store.query("""\n  SELECT *\n  FROM samples""")')] == ["SELECT *\n  FROM"]
    assert sql_in('def f():\n    """Reads the windows: SELECT ... FROM windows."""\n    select = "select a model"\n') == []
    assert private_imports("from storage.store import _pid_alive, Store", "tui") == [(1, "storage.store._pid_alive")]
    assert private_imports("from storage.store import _pid_alive", "storage") == []


def test_sql_is_written_only_in_storage():
    found = [f"{path.relative_to(ROOT)}:{line}: {what}"
             for path in python_files("tui", "runners", "collectors", "themes")
             for line, what in sql_in(path.read_text())]
    assert not found, "SQL outside storage/ (add a named function to storage/ instead):\n" + "\n".join(found)


def test_no_package_imports_another_packages_private_names():
    found = [f"{path.relative_to(ROOT)}:{line}: {name}"
             for path in python_files(*PACKAGES)
             for line, name in private_imports(path.read_text(), path.relative_to(ROOT).parts[0])]
    assert not found, "private names imported across packages (make them public or move them):\n" + "\n".join(found)
