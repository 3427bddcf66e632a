"""Every row of the bad-input table (tests/bad_input_cases.py) against the real `edgemt`
(in `make check`, most rows against a fork of a process that imported it, see forked()).

Refused input: the exit status and first line of the row, exactly one line on stderr,
nothing on stdout, no traceback, and every file in the test's folder (the seeded edgemt
DB, another program's DB, the config) byte for byte as it was, with no file added. Faults
and closed streams run a real tiny tflite tenant and check what was stored."""
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from bad_input_cases import CASES, SETUPS, T, case_id
import edgemt_testlib
from edgemt_testlib import EDGEMT, require_env
from storage.store import Store


# Per section, the first row runs through the real `edgemt` in the fast tier too.
FIRST_OF_SECTION = {id(next(c for c in CASES if c.section == s)) for s in {c.section for c in CASES}}


def forked(request, case) -> bool:
    """Whether the row runs as a fork of the zygote: in the fast tier (`make check`), but
    for the first row of each section and the rows about the process's own streams,
    which start the real `edgemt` there too (so the tier also checks that the zygote's
    commands are `edgemt`'s); `make test` starts the real `edgemt` for every row."""
    return (request.config.getoption("--no-frameworks") and case.action is None and case.section != "streams"
            and id(case) not in FIRST_OF_SECTION)


def _pattern(text: str) -> "re.Pattern":
    return re.compile(".*".join(re.escape(part) for part in text.split("...")), re.S)


def _snapshot(home):
    out = {}
    for root, _, names in os.walk(home):
        for n in names:
            p = os.path.join(root, n)
            if os.path.islink(p):
                out[os.path.relpath(p, home)] = "link to " + os.readlink(p)
                continue
            with open(p, "rb") as fh:
                out[os.path.relpath(p, home)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _seed(db):
    st = Store(db)
    run = st.create_run("run", {"seed": True})
    tid = st.add_tenant(run, group_id=1, model="resnet18", framework="torch", resource="cpu", batch=1,
                        isolation="process", status="stopped")
    for i in range(5):
        st.add_window(tid, i, i + 1, 3, 3, 1, {"70": 3})
    st.end_run(run, "done")
    st.close()


def _query(db, sql):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def _wait_window(db, timeout=180):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if _query(db, "SELECT COUNT(*) FROM windows")[0][0] > 0:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    raise AssertionError("no window was stored in time")


def _children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += fh.read().split()
        except OSError:
            pass
    return out


def _wait_check_child(pid, timeout=120):
    """Waits until the process runs a model check child (`... --check ...`); returns its pid."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for child in _children(pid):
            try:
                with open(f"/proc/{child}/cmdline", "rb") as fh:
                    if b"--check" in fh.read():
                        return int(child)
            except OSError:
                pass
        time.sleep(0.05)
    raise AssertionError("no check child appeared")


@pytest.fixture
def zygote():
    """The test worker's zygote, the one run_edgemt forks its commands from (edgemt_testlib)."""
    return edgemt_testlib.the_zygote()


def _run_forked(zygote, argv, env):
    """The row as a fork of the zygote (tests/edgemt_zygote.py): stdin /dev/null, stdout
    and stderr pipes, as _run gives the real `edgemt`, without an interpreter start and
    edgemt's imports each."""
    return zygote.run(argv, env)


def _run(case, argv, env, db):
    cmd = [EDGEMT, *argv]
    if case.action is None:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=300)
        return p.returncode, p.stdout, p.stderr
    if case.action == "stdout_full":
        with open("/dev/full", "wb") as full:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, env=env, timeout=300)
        return p.returncode, b"", p.stderr
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        if case.action == "close_stdout":  # the reader is gone before edgemt writes a byte (`| head -c 0`)
            p.stdout.close()
            _, err = p.communicate(timeout=300)
            return p.returncode, b"", err
        if case.action == "sigint_in_check":
            # The check is held still so that Ctrl-C lands inside it on any machine: a small
            # model's check can end before a fixed sleep does (CI saw "before the run started").
            check = _wait_check_child(p.pid)
            os.kill(check, signal.SIGSTOP)
            try:
                time.sleep(0.5)  # the check cannot end now; let the controller reach its wait for it
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=300)
                return p.returncode, out, err
            finally:  # never leave a held process behind, whatever the controller did
                try:
                    os.kill(check, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        _wait_window(db)
        if case.action in ("sigint", "sigterm"):
            p.send_signal(signal.SIGINT if case.action == "sigint" else signal.SIGTERM)
        elif case.action == "segv_runner":
            (pid,), = _query(db, "SELECT runner_pid FROM tenants")
            os.kill(pid, signal.SIGSEGV)
        out, err = p.communicate(timeout=300)
        return p.returncode, out, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("case", CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_bad_input(edgemt_home, case, request):
    if case.real:
        require_env("tflite")
    home = edgemt_home
    db = home / "edgemt.db"
    names = {"home": str(home), "db": str(db), "T": T}
    for name in case.setup:
        names[name] = str(SETUPS[name](home))
    if case.config is not None:
        cfg = home / "config" / "edgemt" / "config.toml"
        # top-level keys before the test's [envs] table; a case's own [envs] replaces it
        text = "" if case.config.startswith("[envs]") else cfg.read_text()
        cfg.write_text(case.config.format(**names) + "\n" + text)
    if case.db in ("seeded", "read"):
        _seed(db)
    argv = [a.format(**names) for a in case.argv]
    before = _snapshot(home)
    env = {**os.environ, **{k: v.format(**names) for k, v in case.env.items()}}
    if forked(request, case):
        code, out, err = _run_forked(request.getfixturevalue("zygote"), argv, env)
    else:
        code, out, err = _run(case, argv, env, db)
    err = err.decode(errors="replace")
    lines = err.strip("\n").splitlines()
    assert "Traceback" not in err, err
    assert code == case.exit, (code, err)
    if case.line:
        assert lines and _pattern(case.line.format(**names)).fullmatch(lines[0]), (case.line, err)
    else:
        assert err == "", err
    if case.exit == 2:
        assert len(lines) == 1 and out == b"", (err, out)
        assert len(lines[0]) <= 600, "one readable line"
    if case.db == "seeded":
        assert _snapshot(home) == before  # nothing written, nothing created
    elif case.db == "read":
        assert _snapshot(home)["edgemt.db"] == before["edgemt.db"]  # read, never written
    elif case.db == "none":
        assert not db.exists() and _snapshot(home) == before
    if case.stored:
        sql, expected = case.stored
        row = _query(db, sql)[0]
        for got, want in zip(row, expected):
            assert _pattern(want).fullmatch(str(got)) if isinstance(want, str) else got == want, (got, want)
