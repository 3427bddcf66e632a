"""Oracle, ``rt=on`` end to end (runners/child/slot_wait.py): the SPEC key reaches the runner
child, whose tenant thread then waits for its slots at SCHED_FIFO (seen in /proc while the
run goes on); where the OS refuses real-time priority, ``edgemt run`` says so in one line
before anything starts (exit 2, no DB). No assertion on how punctual this machine is."""
import json
import subprocess
import time
from pathlib import Path

from edgemt_testlib import EDGEMT, run_edgemt

SCHED_FIFO = 1  # /proc/PID/task/TID/stat field 41


def _tasks(pid: int) -> list:
    """The /proc folders of a process's threads; none once it has exited."""
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def _descendants(pid: int) -> set:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in _tasks(p):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in out:
                    out.add(k)
                    todo.append(k)
    return out


def _fifo_threads(pids) -> set:
    """(pid, thread name) of every SCHED_FIFO thread of ``pids``."""
    found = set()
    for pid in pids:
        for task in _tasks(pid):
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            if int(rest[41 - 3]) == SCHED_FIFO:
                found.add((pid, name))
    return found


def test_rt_on_reaches_the_child_whose_tenant_waits_at_realtime_priority(oracle_home):
    oracle_home.model("mobilenet_v2", batch_s=0.01, from_start=True)
    proc = subprocess.Popen([EDGEMT, "run", "--tenant", "mobilenet_v2,rate=5,rt=on", "--duration", "3",
                             "--window", "0.5", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fifo = set()
    while proc.poll() is None:
        fifo |= _fifo_threads(_descendants(proc.pid))  # the runner child's, not the controller's own check
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert fifo, "no thread of the runner child ever waited at SCHED_FIFO"
    result = json.loads(out)
    (tenant,) = result["tenants"]
    q = tenant["open_loop"]
    assert q["rt"] is True
    assert q["dropped"] == 0 and q["completed"] >= 10  # 5 a second for 3 s, served
    # the stored spec keeps it (a replay and `results` show the run as it was)
    (spec,) = oracle_home.rows("SELECT spec FROM tenants")
    assert json.loads(spec[0])["rt"] is True


def test_rt_on_is_refused_in_one_line_where_the_os_refuses_it(oracle_home):
    # setpriv drops CAP_SYS_NICE from what edgemt may have: a user without it (and without
    # an rtprio limit) is refused by the OS exactly so
    db = oracle_home.home / "rt.db"
    r = subprocess.run(["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", EDGEMT, "run", "--tenant",
                        "mobilenet_v2,rate=5,rt=on", "--duration", "2", "--db", str(db)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith("edgemt: rt=on in SPEC 'mobilenet_v2,")
    assert "the OS refused real-time priority (Operation not permitted): it needs CAP_SYS_NICE" in lines[0]
    assert lines[0].endswith("; or leave rt=on out")
    assert not db.exists()
    # the same command without rt=on runs there: the refusal is rt's alone
    ok = subprocess.run(["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", EDGEMT, "run", "--tenant",
                         "mobilenet_v2,rate=5", "--duration", "1", "--db", str(db)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert db.exists()


def test_rt_off_is_the_default_and_not_kept_in_the_spec(oracle_home):
    oracle_home.model("mobilenet_v2", batch_s=0.01, from_start=True)
    r = run_edgemt("run", "--tenant", "mobilenet_v2,rate=5,rt=off", "--duration", "1", "--window", "0.5", "--json",
                   check=0)
    (tenant,) = json.loads(r.stdout)["tenants"]
    assert tenant["open_loop"]["rt"] is False
    (spec,) = oracle_home.rows("SELECT spec FROM tenants")
    assert json.loads(spec[0])["rt"] is None
