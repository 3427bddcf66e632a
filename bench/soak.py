"""Fault-injection soak: the real Supervisor against faults injected from outside.

This process is the controller (a Session: store, sampler, supervisor, as in
bench/controller.py). It runs several groups of real runner children in both
isolations and injects faults the way they happen on a board, from outside:

  sigkill   SIGKILL to a runner process (the OOM killer, a user's kill -9)
  sigsegv   SIGSEGV to a runner process (a crash in a native library)
  sigstop   SIGSTOP to a runner process: a hung child; the watchdog must notice it
            after hang_windows (3) missed windows and stop it
  memory    an allocation refused under RLIMIT_AS: the limit is set on the running
            child with prlimit(2) to its current size + 64 MB, then the group's batch
            is raised to 64 (the tensors no longer fit)
  badfile   a model file that loads but fails inside its first call, started as a
            tenant; alternately a TFLite file whose GATHER reads out of bounds at invoke
            (made in the tensorflow environment) and a TorchScript module whose forward
            raises (made in the torch environment)

After each fault the group is stepped back to its size (or the batch restored) so the
soak keeps going. Checked: the supervisor survives every fault; each fault becomes
one `failed` event per tenant of the struck process, with its reason; no other tenant
fails; every other tenant keeps reporting windows after the fault; windows in the DB
= windows the children reported (counted as they arrive); no runner process is left
(no orphan re-parented to init, none still ours) at the end.

Usage: .venv/bin/python bench/soak.py [--faults 200] [--window 0.5] [--json]
       [--kinds sigkill,sigsegv,sigstop,memory,badfile] [--nice 10]
The exit status is 0 when every check holds, 1 otherwise.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

KINDS = ("sigkill", "sigsegv", "sigstop", "memory", "badfile")
REASON = {
    "sigkill": re.compile(r"killed by SIGKILL"),
    "sigsegv": re.compile(r"killed by SIGSEGV"),
    "sigstop": re.compile(r"^hung: no report"),
    "memory": re.compile(r"MemoryError|alloc|memory|SIGABRT", re.I),
    "badfile": re.compile(r"TorchScript|fails on its first call|GATHER|failed to invoke"),
}
# Groups: thread isolation (one runner process per group) and process isolation.
GROUPS = {
    "A": "mobilenet_v2,framework=tflite,count=2,isolation=thread,threads=1",
    "B": "mobilenet_v2,framework=tflite,count=1,isolation=thread,threads=1",
    "C": "mobilenet_v2,framework=tflite,isolation=process,threads=1",
    "D": "squeezenet1_0,framework=torch,isolation=process,threads=1",
    "E": "squeezenet1_0,framework=torch,isolation=process,threads=1",
}
SIGNAL_TARGETS = ("A", "C", "B", "D")
MEMORY_TARGET = "E"
BAD_MODEL_SRC = '''
import sys, torch
class FailsOnFirstCall(torch.nn.Module):
    def forward(self, x):
        if x.dim() > 0:
            raise RuntimeError("soak: this model's op fails on its first call")
        return x
torch.jit.script(FailsOnFirstCall()).save(sys.argv[1])
'''
BAD_TFLITE_SRC = '''
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
@tf.function(input_signature=[tf.TensorSpec([1, 224, 224, 3], tf.float32)])
def f(x):
    idx = tf.cast(tf.reduce_max(x) * 0.0, tf.int32) + 1000000  # depends on x: not folded away
    return tf.gather(tf.reshape(x, [-1]), tf.reshape(idx, [1]))
conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
open(sys.argv[1], "wb").write(conv.convert())
'''


def make_bad_models(checker, folder: Path) -> list:
    """SPECs of model files that load but fail in their first call: a TorchScript module
    whose forward raises (torch environment) and a TFLite file whose GATHER reads out of
    bounds (made in the tensorflow environment, when there is one)."""
    out = []
    for name, src_text, fw, spec in (
        ("fails_on_first_call.tflite", BAD_TFLITE_SRC, "tensorflow", "mobilenet_v2,framework=tflite,file={},threads=1"),
        ("fails_on_first_call.pt", BAD_MODEL_SRC, "torch", "squeezenet1_0,framework=torch,file={},threads=1"),
    ):
        try:
            python = checker.python_for(fw)
        except Exception:  # noqa: BLE001 - no such environment here
            continue
        path = folder / name
        src = folder / (name + ".py")  # torch.jit.script reads the class's source from a file
        src.write_text(src_text)
        subprocess.run([python, str(src), str(path)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
        out.append(spec.format(path))
    return out


def runner_processes(ours: set) -> list:
    """(pid, ppid) of live runner children that this process started (``ours``, re-parented
    or not) or that are its children; other programs' runners on a shared machine are not
    counted."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        if "runners/child" not in cmd:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid = fields[0], int(fields[1])
        if state != "Z" and (ppid == me or int(d) in ours):
            out.append((int(d), ppid))
    return out


def pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def vm_size(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmSize for {pid}")


class Soak:
    def __init__(self, a, session, bad_specs: list):
        self.a = a
        self.session = session
        self.sup = session.supervisor
        self.bad_specs = bad_specs
        self.bad_groups = {}  # spec -> Group
        self.n_bad = 0
        self.groups = {}  # letter -> Group
        self.windows_reported = 0
        self.failed = {}  # tenant id -> (t, reason)
        self.expected_failures = set()
        self.load_at_failure = {}  # tenant -> 1-minute load average when it failed
        self.rows = {k: {"injected": 0, "survived": 0, "failed_events": 0, "reason_ok": 0, "others_reporting": 0,
                         "seconds": 0.0}
                     for k in KINDS}
        self.hang_detect_s = []
        self.problems = []
        self.pids_seen = set()
        self.peak_runners = 0
        self.sup.subscribe(self._on)

    def _on(self, kind, data):
        if kind == "window":
            self.windows_reported += 1
        elif kind == "event" and data["kind"] == "failed":
            self.failed[data["tenant"]] = (data["t"], data["detail"].get("reason", ""))
            self.load_at_failure[data["tenant"]] = round(os.getloadavg()[0], 1)
        elif kind == "tenant" and data.runner is not None and data.runner.pid:
            self.pids_seen.add(data.runner.pid)

    async def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise TimeoutError(what)
            self.peak_runners = max(self.peak_runners, len(self.sup.runners))
            await asyncio.sleep(0.05)

    async def ready(self, letter):
        """Waits until a group has its full size, every tenant running (warm)."""
        from runners.spec import parse_spec

        g = self.groups[letter]
        want = parse_spec(GROUPS[letter]).count
        if g.count < want:
            await self.sup.step(g.id, want - g.count)
        await self.wait(lambda: all(t.status == "running" for t in g.active) and g.count == want
                        and all(t.n_windows for t in g.active), self.a.timeout, f"group {letter} warm")

    async def run(self):
        from runners.spec import parse_spec

        for letter, spec in GROUPS.items():
            self.groups[letter] = await self.sup.add_group(parse_spec(spec))
        for letter in GROUPS:
            await self.ready(letter)
        kinds = [k for k in self.a.kinds.split(",") if k]
        targets = iter(SIGNAL_TARGETS * (self.a.faults + 1))
        for i in range(self.a.faults):
            kind = kinds[i % len(kinds)]
            letter = next(targets) if kind.startswith("sig") else MEMORY_TARGET if kind == "memory" else None
            started = time.monotonic()
            try:
                await self.inject(kind, letter)
            except TimeoutError as exc:
                self.problems.append(f"fault {i} {kind} {letter or ''}: timed out waiting for {exc}")
            self.rows[kind]["seconds"] += time.monotonic() - started
            if not self.a.json and (i + 1) % 10 == 0:
                print(f"  {i + 1}/{self.a.faults} faults, {self.windows_reported} windows", flush=True)
        for letter in GROUPS:  # the soak ends with every group running again
            await self.ready(letter)

    async def inject(self, kind, letter):
        sup = self.sup
        row = self.rows[kind]
        if letter is not None:
            await self.ready(letter)
            g = self.groups[letter]
            victims = list(g.active)
            runner = victims[0].runner
            assert all(t.runner is runner for t in victims)
        others = [t for t in sup.all_tenants() if t.status == "running" and (letter is None or t.group is not g)]
        t_inject = sup.now()
        row["injected"] += 1
        if kind in ("sigkill", "sigsegv", "sigstop"):
            os.kill(runner.pid, {"sigkill": signal.SIGKILL, "sigsegv": signal.SIGSEGV,
                                 "sigstop": signal.SIGSTOP}[kind])
        elif kind == "memory":
            limit = vm_size(runner.pid) + (64 << 20)
            resource.prlimit(runner.pid, resource.RLIMIT_AS, (limit, limit))
            await sup.set_batch(g.id, 64)
        elif kind == "badfile":
            from runners.spec import parse_spec

            spec = self.bad_specs[self.n_bad % len(self.bad_specs)]
            self.n_bad += 1
            if spec not in self.bad_groups:
                self.bad_groups[spec] = await sup.add_group(parse_spec(spec))
            else:
                await sup.step(self.bad_groups[spec].id, 1)
            victims = list(self.bad_groups[spec].active)
        self.expected_failures.update(t.id for t in victims)
        await self.wait(lambda: all(t.status == "failed" for t in victims), self.a.timeout,
                        f"{len(victims)} failed event(s)")
        row["survived"] += 1  # the supervisor went on: it reported the failure and still takes commands
        t_fail = max(self.failed[t.id][0] for t in victims)
        row["failed_events"] += len(victims)
        reasons = [self.failed[t.id][1] for t in victims]
        if all(REASON[kind].search(r) for r in reasons):
            row["reason_ok"] += 1
        else:
            self.problems.append(f"{kind}: unexpected reason(s) {reasons}")
        if kind == "sigstop":
            self.hang_detect_s.append(t_fail - t_inject)
        if kind == "memory":
            await sup.set_batch(g.id, 1)
        # Every other tenant that is still running reports a window that ends after the fault was handled.
        others = [t for t in others if t.status == "running"]
        try:
            await self.wait(lambda: all(t.n_windows and t.last_window.t_end > t_fail for t in others
                                        if t.status == "running"), self.a.timeout, "other tenants' windows")
            row["others_reporting"] += 1
        except TimeoutError:
            stalled = [t.id for t in others if t.status == "running" and t.n_windows and t.last_window.t_end <= t_fail]
            self.problems.append(f"{kind}: tenants {stalled} stopped reporting after the fault")
        if letter is not None:
            await sup.step(g.id, len(victims))  # back to size; warm-up overlaps the next fault


async def main_async(a) -> dict:
    from runners import config
    from runners.placement import PlacementChecker
    from tui.session import Session, edgetpu_lister

    work = Path(tempfile.mkdtemp(prefix="edgemt-soak-"))
    db = work / "soak.db"
    cfg = config.load()
    checker = PlacementChecker(cfg, edgetpu_lister())
    bad_specs = make_bad_models(checker, work)
    session = Session(db, "soak", {"bench": "soak", "faults": a.faults}, cfg, window_s=a.window,
                      sample_hz=1.0, checker=checker, logs_dir=work / "logs")
    soak = Soak(a, session, bad_specs)
    t0 = time.monotonic()
    crashed = None
    try:
        await soak.run()
    except Exception as exc:  # the soak's own verdict: the supervisor did not survive
        crashed = f"{type(exc).__name__}: {exc}"
    finally:
        run_id = session.run_id
        tenants = session.supervisor.all_tenants()
        await session.close("done")
    wall = time.monotonic() - t0
    await asyncio.sleep(2.0)  # children that were told to stop have exited by now
    leftovers = runner_processes(soak.pids_seen)
    c = sqlite3.connect(db)
    try:
        stored = c.execute("SELECT COUNT(*) FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ?",
                           (run_id,)).fetchone()[0]
        failed_rows = c.execute("SELECT tenant FROM events WHERE run = ? AND kind = 'failed'", (run_id,)).fetchall()
        integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()
    failed_ids = [r[0] for r in failed_rows]
    unexpected = sorted(set(failed_ids) - soak.expected_failures)
    missing = sorted(soak.expected_failures - set(failed_ids))
    injected = sum(r["injected"] for r in soak.rows.values())
    survived = sum(r["survived"] for r in soak.rows.values())
    result = {
        "faults": injected, "survived": survived, "by_kind": soak.rows,
        "failed_events": len(failed_ids), "expected_failed_events": len(soak.expected_failures),
        "unexpected_failures": [{"tenant": t, "reason": soak.failed.get(t, (0, "?"))[1],
                                 "load_avg": soak.load_at_failure.get(t)} for t in unexpected],
        "missing_failures": missing,
        "duplicate_failed_events": len(failed_ids) - len(set(failed_ids)),
        "windows_reported": soak.windows_reported, "windows_stored": stored, "integrity": integrity,
        "tenants": len(tenants), "runner_processes": len(soak.pids_seen),
        "peak_runner_processes": soak.peak_runners,
        "orphans": [p for p, ppid in leftovers if ppid != os.getpid()],
        "left_running": [p for p, ppid in leftovers if ppid == os.getpid()],
        "hang_detect_s": {"min": round(min(soak.hang_detect_s), 2), "max": round(max(soak.hang_detect_s), 2),
                          "n": len(soak.hang_detect_s)} if soak.hang_detect_s else None,
        "window_s": a.window, "hang_windows": session.supervisor.hang_windows,
        "wall_s": round(wall, 1), "crashed": crashed, "problems": soak.problems, "db": str(db),
    }
    result["ok"] = bool(
        crashed is None and not soak.problems and survived == injected == a.faults and not unexpected
        and not missing and result["duplicate_failed_events"] == 0 and stored == soak.windows_reported
        and integrity == "ok" and not leftovers
    )
    return result


def print_table(r):
    print(f"\nsoak: {r['faults']} faults in {r['wall_s']:.0f} s, window {r['window_s']} s, "
          f"{r['tenants']} tenants in {r['runner_processes']} runner processes")
    print(f"{'fault':<10} {'injected':>9} {'survived':>9} {'failed ev':>10} {'reason ok':>10} {'others rep.':>12} {'s/fault':>8}")
    for k, row in r["by_kind"].items():
        if row["injected"]:
            print(f"{k:<10} {row['injected']:>9} {row['survived']:>9} {row['failed_events']:>10} "
                  f"{row['reason_ok']:>10} {row['others_reporting']:>12} {row['seconds'] / row['injected']:>8.1f}")
    print(f"{'total':<10} {r['faults']:>9} {r['survived']:>9} {r['failed_events']:>10}")
    print(f"failed events expected {r['expected_failed_events']}, unexpected {len(r['unexpected_failures'])}, "
          f"missing {len(r['missing_failures'])}, duplicated {r['duplicate_failed_events']}")
    print(f"windows reported {r['windows_reported']}, stored {r['windows_stored']}, integrity {r['integrity']}")
    if r["hang_detect_s"]:
        h = r["hang_detect_s"]
        print(f"hung child stopped after {h['min']:.2f}..{h['max']:.2f} s "
              f"({r['hang_windows']} windows of {r['window_s']} s = {r['hang_windows'] * r['window_s']:.2f} s)")
    print(f"runner processes alive at once: at most {r['peak_runner_processes']}")
    print(f"orphans (re-parented runners) {len(r['orphans'])}, runner processes still ours {len(r['left_running'])}")
    for u in r["unexpected_failures"]:
        print(f"unexpected failure of tenant {u['tenant']} (load average {u['load_avg']}): {u['reason']}")
    for p in r["problems"][:20]:
        print("problem:", p)
    if r["crashed"]:
        print("supervisor crashed:", r["crashed"])
    print("OK" if r["ok"] else "FAILED")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", type=int, default=200)
    ap.add_argument("--window", type=float, default=0.5)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for any one expected change")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness of the soak and its children; a niced soak on a busy machine can be starved "
                         "for longer than the hang limit (3 windows), which the watchdog then rightly stops")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.nice:
        os.nice(a.nice)
    r = asyncio.run(main_async(a))
    if a.json:
        print(json.dumps(r))
    else:
        print_table(r)
    sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
