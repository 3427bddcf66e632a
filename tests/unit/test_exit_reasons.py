"""Why a runner ended: the signal or status with what it usually means, the log's last
error line, never the runtime's INFO chatter (runners/exit_reasons.py)."""
import pytest

from runners.exit_reasons import error_line, exit_reason

XNNPACK = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
TRACE = ["Traceback (most recent call last):", '  File "loop.py", line 3', "MemoryError: Unable to allocate 36.8 MiB"]

CASES = [
    (-9, [XNNPACK], "runner process 7 was killed by SIGKILL (most often the kernel's out-of-memory killer, see dmesg; "
                    "or a kill -9 from outside); its log: /l/g1.log"),
    (-11, [XNNPACK], "runner process 7 was killed by SIGSEGV (a crash in the framework's native code, often too many "
                     "threads or too little memory); its log: /l/g1.log"),
    (-6, ["terminate called after throwing an instance of 'std::bad_alloc'", "  what():  std::bad_alloc"],
     "runner process 7 was killed by SIGABRT (the framework aborted, often a failed memory allocation or a failed "
     "internal check): what():  std::bad_alloc"),
    (137, [], "runner process 7 was killed by SIGKILL (most often ...); its log: /l/g1.log"),
    (139, [XNNPACK], "runner process 7 was killed by SIGSEGV (...); its log: /l/g1.log"),
    (0, [XNNPACK], "runner process 7 ended while its tenants ran, without reporting a failure (exit status 0); "
                   "its log: /l/g1.log"),
    (1, TRACE + [XNNPACK], "runner process 7 exited with status 1 (an error it did not report): "
                           "MemoryError: Unable to allocate 36.8 MiB"),
    (127, [], "runner process 7 exited with status 127 (its interpreter was not found); its log: /l/g1.log"),
    (-34, [], "runner process 7 was killed by SIGRTMIN; its log: /l/g1.log"),
]


@pytest.mark.parametrize("rc,lines,expected", CASES, ids=[str(c[0]) for c in CASES])
def test_reason(rc, lines, expected):
    got = exit_reason(7, rc, lines, "/l/g1.log")
    head, _, tail = expected.partition("...")
    assert got.startswith(head) and got.endswith(tail), got
    assert "XNNPACK" not in got and "exited with status 0" not in got


def test_info_lines_are_never_the_error():
    assert error_line([XNNPACK, "I0000 00:00 cpu_feature_guard.cc:210] This TensorFlow binary is optimized"]) == ""
    assert error_line(["RuntimeError: gather index out of bounds", XNNPACK]) == "RuntimeError: gather index out of bounds"
