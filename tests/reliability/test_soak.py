"""A small version of bench/soak.py: 15 faults, every kind three times (SIGKILL, SIGSEGV,
SIGSTOP -> hung, an allocation refused under RLIMIT_AS, a model file that fails in its
first call), against groups in both isolations driven by the real Supervisor."""
import json
import subprocess
import sys

from edgemt_testlib import REPO, require_env


def test_soak_every_fault_kind(edgemt_home):
    for fw in ("tflite", "torch", "tensorflow"):
        require_env(fw)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "soak.py"), "--faults", "15", "--json"],
                          capture_output=True, text=True, timeout=900)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["crashed"] is None and r["problems"] == [], r
    assert r["faults"] == r["survived"] == 15
    for kind, row in r["by_kind"].items():
        assert row["injected"] == row["survived"] == row["reason_ok"] == row["others_reporting"] == 3, (kind, row)
    # each fault is one failed event per tenant of the struck process, and no other tenant failed
    assert r["failed_events"] == r["expected_failed_events"] >= 15
    assert r["unexpected_failures"] == [] and r["missing_failures"] == [] and r["duplicate_failed_events"] == 0
    assert r["windows_stored"] == r["windows_reported"] > 0
    assert r["integrity"] == "ok"
    assert r["orphans"] == [] and r["left_running"] == []
    # a hung child is stopped once it has missed hang_windows windows, not before
    assert r["hang_detect_s"]["min"] >= r["hang_windows"] * r["window_s"]
    assert proc.returncode == 0 and r["ok"]
