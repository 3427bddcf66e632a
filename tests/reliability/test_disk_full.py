"""Disk full, simulated with RLIMIT_FSIZE on the controller (set in the child between fork
and exec; Python ignores SIGXFSZ, so a write past the limit fails with EFBIG and SQLite
reports it). `edgemt run` prints one clear line, stops its tenants, keeps everything it
committed before, exits 4, and the next start marks the run interrupted."""
import os
import resource
import subprocess

from edgemt_testlib import EDGEMT, require_env, run_edgemt
from reliability_lib import alive, rows, start_run, wait_for

LIMIT = 400 * 1024  # bytes any one file may reach: the DB's WAL fills it within seconds


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_disk_full_stops_the_run_with_one_line_and_keeps_what_was_written(edgemt_home):
    require_env("tflite")
    db = edgemt_home / "edgemt.db"
    p = start_run(db, duration="600", preexec_fn=_limit_file_size)
    try:
        out, err = p.communicate(timeout=600)
    finally:
        p.kill()
    assert p.returncode == 4, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgemt: cannot write the DB {db}:"), err
    assert "tenants stopped" in lines[0] and "Traceback" not in err
    assert out == ""
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    (windows,), = rows(db, "SELECT COUNT(*) FROM windows")
    assert windows > 0  # what was committed before the disk filled is kept
    pids = [r[0] for r in rows(db, "SELECT runner_pid FROM tenants")]
    wait_for(lambda: not any(alive(x) for x in pids), timeout=10, what="runner children gone")
    assert rows(db, "SELECT status FROM runs") == [("running",)]  # the end could not be written
    run_edgemt("export", "--out", str(edgemt_home / "after.csv"), check=0)
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(db, "SELECT COUNT(*) FROM windows") == [(windows,)]


def test_db_that_cannot_be_written_at_start_is_one_line(edgemt_home):
    """A DB the disk refuses from the start (4 KB file size limit): nothing starts, one line, exit 2."""
    require_env("tflite")
    db = edgemt_home / "edgemt.db"

    def tiny():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = subprocess.run([EDGEMT, "run", "--tenant", "mobilenet_v2,framework=tflite", "--duration", "1"],
                          capture_output=True, text=True, timeout=120, preexec_fn=tiny,
                          env={**os.environ, "EDGEMT_DB": str(db)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgemt: --db {db} cannot be written: "), proc.stderr
