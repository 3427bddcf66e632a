"""Helpers of the reliability tests: a controller started as a real `edgemt` subprocess,
DB reads that tolerate a DB being created, and process checks through /proc."""
import os
import sqlite3
import subprocess
import time

from edgemt_testlib import EDGEMT, pid_alive as alive  # noqa: F401 (alive: re-exported to the reliability tests)

# The cheapest busy tenants here: tflite threads in one runner, plus one tflite runner
# process, so both isolations are present.
TENANTS = ["--tenant", "mobilenet_v2,framework=tflite,count=2,isolation=thread,threads=1",
           "--tenant", "mobilenet_v2,framework=tflite,isolation=process,threads=1"]


def rows(db, sql, args=()):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def wait_for(pred, timeout=180, every=0.25, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = pred()
        except sqlite3.Error:
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached in {timeout} s")



def start_run(db, *extra, tenants=TENANTS, duration="120", window="0.5", **kw):
    """`edgemt run` in its own session (as a login shell's job would be), stdout/stderr piped."""
    return subprocess.Popen([EDGEMT, "run", *tenants, "--duration", duration, "--window", window, "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "EDGEMT_DB": str(db)}, **kw)


def wait_windows(db, per_tenant=2, tenants=3, timeout=240):
    """Waits until `tenants` tenants each stored at least `per_tenant` windows; returns runner pids."""
    def ready():
        n = rows(db, "SELECT tenant, COUNT(*) FROM windows GROUP BY tenant HAVING COUNT(*) >= ?", (per_tenant,))
        return len(n) >= tenants
    wait_for(ready, timeout, what=f"{tenants} tenants with {per_tenant} windows")
    return sorted({r[0] for r in rows(db, "SELECT runner_pid FROM tenants WHERE runner_pid IS NOT NULL")})


def oom_score_adj(pid) -> int:
    with open(f"/proc/{pid}/oom_score_adj") as fh:
        return int(fh.read())
