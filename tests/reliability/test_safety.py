"""Safety: no shell is ever given a string, model files are loaded without running code
from them, files edgemt writes are not world-writable, CSV formula cells are escaped."""
import ast
import csv
import functools
import os
import pickle
import stat


from edgemt_testlib import REPO, require_env, run_edgemt

SOURCE_DIRS = ("runners", "collectors", "storage", "tui", "themes")


@functools.lru_cache(maxsize=None)
def _sources():
    """(path, tree) of every module of edgemt's, parsed once for the tests of this file."""
    return tuple((path, ast.parse(path.read_text(), filename=str(path)))
                 for d in SOURCE_DIRS for path in sorted((REPO / d).rglob("*.py")))


def _name(node):
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "?"


@functools.lru_cache(maxsize=None)
def _all_calls():
    """(path, call node, called name) of every call in edgemt's source: the trees are
    walked once for the tests of this file (a walk of every tree is ~0.4 s of CPU)."""
    return tuple((path, node, _name(node.func)) for path, tree in _sources()
                 for node in ast.walk(tree) if isinstance(node, ast.Call))


def test_no_shell_anywhere():
    """No shell=True, os.system, os.popen, pty.spawn or commands.getoutput in edgemt's source."""
    found = []
    for path, node, name in _all_calls():
        if name in ("os.system", "os.popen", "system", "popen", "pty.spawn", "subprocess.getoutput",
                    "subprocess.getstatusoutput", "os.execl", "os.execlp", "os.spawnl", "os.spawnlp"):
            found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} shell={ast.unparse(kw.value)}")
    assert found == []


def _calls(func_suffix):
    for path, node, name in _all_calls():
        if name.endswith(func_suffix):
            yield path, node


def test_torch_load_is_weights_only_and_keras_load_is_safe_mode():
    loads = list(_calls("torch.load"))
    assert loads, "torch.load is used by the torch backend"
    for path, node in loads:
        kw = {k.arg: k.value for k in node.keywords}
        assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True, \
            f"{path}:{node.lineno} torch.load without weights_only=True"
    keras = [c for c in _calls("load_model") if "keras" in _name(c[1].func) or "models" in _name(c[1].func)]
    assert keras, "the tensorflow backend loads .keras files"
    for path, node in keras:
        kw = {k.arg: k.value for k in node.keywords}
        assert isinstance(kw.get("safe_mode"), ast.Constant) and kw["safe_mode"].value is True, \
            f"{path}:{node.lineno} keras load_model without safe_mode=True"
    unpickles = [f"{p.relative_to(REPO)}:{n.lineno}" for s in ("pickle.load", "pickle.loads", "dill.load")
                 for p, n in _calls(s)]
    assert unpickles == []


class _Payload:
    """A pickle that would create a file when unpickled by a loader that runs code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_malicious_torch_file_is_refused_without_running_its_code(edgemt_home):
    require_env("torch")
    marker = edgemt_home / "pwned"
    model = edgemt_home / "evil.pt"
    model.write_bytes(pickle.dumps({"state": _Payload(str(marker))}, protocol=2))
    proc = run_edgemt("run", "--tenant", f"squeezenet1_0,file={model},threads=1", "--duration", "1", "--json",
                      timeout=300)
    # refused by the pre-flight load (a child of the torch environment), before anything starts
    assert proc.returncode == 2, proc.stderr
    assert not marker.exists()
    assert "does not run on torch@cpu" in proc.stderr and "weights_only" in proc.stderr.replace("Weights", "weights")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_db_and_csv_are_not_world_writable_and_formulas_are_escaped(edgemt_home):
    from storage.store import Store

    old = os.umask(0)  # the most permissive umask a user could have
    try:
        db = edgemt_home / "perm.db"
        st = Store(db)
        run = st.create_run("run", {"note": "=HYPERLINK(\"http://x\")"})
        tid = st.add_tenant(run, group_id=1, model="=cmd|' /C calc'!A0", framework="+torch", resource="-cpu",
                            batch=1, isolation="@process", status="stopped")
        st.add_window(tid, 0.0, 1.0, -3, 1, 1, {})
        st.add_event(run, 0.5, "log", tid, {"message": "@SUM(1+1)"})
        st.end_run(run, "done")
        st.close()
        assert not os.stat(db).st_mode & stat.S_IWOTH
        for table in ("tenants", "timeline", "events", "runs"):
            out = edgemt_home / f"{table}.csv"
            run_edgemt("export", "--db", str(db), "--table", table, "--out", str(out), check=0)
            assert not os.stat(out).st_mode & stat.S_IWOTH
            for row in csv.reader(open(out, newline="")):
                for cell in row:
                    assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not (
                        cell.startswith("-") and not _is_number(cell)), (table, cell)
        rows = list(csv.DictReader(open(edgemt_home / "tenants.csv", newline="")))
        assert rows[0]["model"] == "'=cmd|' /C calc'!A0" and rows[0]["framework"] == "'+torch"
        timeline = list(csv.DictReader(open(edgemt_home / "timeline.csv", newline="")))
        assert timeline[0]["images"] == "-3"  # numbers stay numbers
    finally:
        os.umask(old)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
