"""Every bad input of `edgemt run`: one line naming the value, exit 2, no traceback,
nothing started, and an existing DB keeps every row."""
import sqlite3

import pytest

from edgemt_testlib import run_edgemt
from storage.store import Store


@pytest.fixture
def seeded_db(edgemt_home):
    db = edgemt_home / "edgemt.db"
    st = Store(db)
    run = st.create_run("run", {"seed": True})
    tid = st.add_tenant(run, group_id=1, model="resnet18", framework="torch", resource="cpu", batch=1,
                        isolation="process", status="stopped")
    for i in range(5):
        st.add_window(tid, i, i + 1, 3, 3, 1, {"70": 3})
    st.end_run(run, "done")
    st.close()
    return db


def _counts(db):
    c = sqlite3.connect(db)
    try:
        return [c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "tenants", "windows", "events")]
    finally:
        c.close()


def _image_dir(tmp, kind):
    d = tmp / f"images-{kind}"
    d.mkdir()
    if kind == "junk":
        (d / "a.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        (d / "b.txt").write_text("hello")
        (d / "zero.png").write_bytes(b"")
    return d


CASES = [
    (["--tenant", "nosuchnet"], "unknown model 'nosuchnet'"),
    (["--tenant", "mobilenet_v2,framework=caffe"], "unknown framework 'caffe'"),
    (["--tenant", "vgg16,framework=tflite"], "not supported by tflite"),
    (["--tenant", "mobilenet_v2,resource=cuda:0"], "cuda:0 not found"),
    (["--tenant", "mobilenet_v1,framework=tflite,resource=edgetpu:usb:3"], "no EdgeTPU was found"),
    (["--tenant", "mobilenet_v2,batch=0"], "batch 0"),
    (["--tenant", "mobilenet_v2,batch=-2"], "batch -2"),
    (["--tenant", "mobilenet_v2,batch=many"], "'many' is not a number"),
    (["--tenant", "mobilenet_v2,count=0"], "count=0"),
    (["--tenant", "mobilenet_v2,,count=1"], "empty item"),
    (["--tenant", "mobilenet_v2,speed=9"], "unknown key 'speed'"),
    (["--tenant", "mobilenet_v2", "--images", "/no/such/folder"], "is not a folder"),
    (["--tenant", "mobilenet_v2", "--images", "@empty"], "is empty"),
    (["--tenant", "mobilenet_v2", "--images", "@junk"], "no readable image"),
    (["--tenant", "mobilenet_v2", "--duration", "0"], "not positive"),
    (["--tenant", "mobilenet_v2", "--duration", "-5"], "not positive"),
    (["--tenant", "mobilenet_v2", "--duration", "soon"], "not a number"),
    (["--tenant", "mobilenet_v2", "--db", "/dev/null/edgemt.db"], "not writable"),
    (["--tenant", "mobilenet_v2", "--db", "@notsqlite"], "not an SQLite database"),
    (["--tenant", "mobilenet_v2", "--db", "@folder"], "is a folder"),
    ([], "--tenant"),
]


@pytest.mark.parametrize("args,words", CASES, ids=[c[1] for c in CASES])
def test_bad_run_input(seeded_db, edgemt_home, args, words):
    before = _counts(seeded_db)
    args = list(args)
    for i, a in enumerate(args):
        if a in ("@empty", "@junk"):
            args[i] = str(_image_dir(edgemt_home, a[1:]))
        elif a == "@notsqlite":
            p = edgemt_home / "notes.txt"
            p.write_text("my notes, not a database")
            args[i] = str(p)
        elif a == "@folder":
            args[i] = str(edgemt_home)
    proc = run_edgemt("run", *args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert _counts(seeded_db) == before


def test_missing_environment_names_the_command(seeded_db, edgemt_home):
    cfg = edgemt_home / "config" / "edgemt" / "config.toml"
    cfg.write_text('[envs]\nmxnet = "/nonexistent/bin/python"\n')
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,framework=mxnet")
    assert proc.returncode == 2
    assert "edgemt env create mxnet" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_broken_config_is_one_line(edgemt_home):
    cfg = edgemt_home / "config" / "edgemt" / "config.toml"
    cfg.write_text('window_s = "one"\n')
    proc = run_edgemt("run", "--tenant", "mobilenet_v2")
    assert proc.returncode == 2 and "'window_s'" in proc.stderr and "Traceback" not in proc.stderr


def test_newer_schema_is_refused_and_kept(edgemt_home):
    db = edgemt_home / "future.db"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE keep (x)")
    c.execute("INSERT INTO keep VALUES (1)")
    c.execute("PRAGMA user_version = 99")
    c.commit()
    c.close()
    proc = run_edgemt("run", "--tenant", "mobilenet_v2", "--db", str(db))
    assert proc.returncode == 2 and "schema version 99" in proc.stderr
    c = sqlite3.connect(db)
    assert c.execute("SELECT x FROM keep").fetchall() == [(1,)]
    assert c.execute("PRAGMA user_version").fetchone()[0] == 99
