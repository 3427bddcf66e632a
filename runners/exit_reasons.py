"""Why a runner process ended, in words a user can act on.

A runner that exits while its tenants run fails them with this reason. It names the
signal or the exit status together with what it usually means (SIGKILL: most often the
kernel's out-of-memory killer), and adds the last line of the child's log only when
that line reports an error: the runtime's last INFO line ("Created TensorFlow Lite
XNNPACK delegate for CPU.") says nothing about a crash and is never given as a reason.
"""
import re
import signal

SIGNALS = {
    "SIGKILL": "most often the kernel's out-of-memory killer, see dmesg; or a kill -9 from outside",
    "SIGSEGV": "a crash in the framework's native code, often too many threads or too little memory",
    "SIGABRT": "the framework aborted, often a failed memory allocation or a failed internal check",
    "SIGBUS": "a bad memory access, often a model file changed or cut short while in use",
    "SIGILL": "an instruction this CPU lacks: a framework build for another CPU",
    "SIGFPE": "an arithmetic fault in the framework's native code",
    "SIGTERM": "terminated from outside edgemt",
    "SIGINT": "interrupted from outside edgemt",
    "SIGHUP": "its terminal or session went away",
    "SIGPIPE": "its connection to edgemt was closed",
    "SIGXCPU": "it ran past a CPU time limit (ulimit -t)",
    "SIGXFSZ": "it ran past a file size limit (ulimit -f)",
}

STATUSES = {
    1: "an error it did not report",
    2: "its interpreter refused the command line",
    120: "it could not flush its output at exit",
    126: "its interpreter is not executable",
    127: "its interpreter was not found",
}

# a line that reports a failure (a Python exception's last line, a native crash message)
ERROR_LINE = re.compile(r"(Error|Exception|error:|ERROR|Fatal|FATAL|[Ff]ault|[Aa]bort|terminate called|what\(\)|"
                        r"Check failed|Killed|cannot|can't|out of memory|[Oo]ut of [Mm]emory)")
# a line that is the runtime's progress chatter, whatever words it holds
INFO_LINE = re.compile(r"^\s*(INFO|DEBUG|WARNING|I\d{4}|W\d{4}|\[INFO\]|\d{4}-\d\d-\d\d[ T][\d:.]+: I )|"
                       r"Created TensorFlow Lite|XNNPACK delegate|oneDNN custom operations")


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def error_line(lines) -> str:
    """The last line of ``lines`` that reports an error (not INFO chatter), or ''."""
    for line in reversed([ln.strip() for ln in lines if ln.strip()]):
        if INFO_LINE.search(line):
            continue
        if ERROR_LINE.search(line):
            return line[-300:]
    return ""


def exit_reason(pid, returncode, log_lines=(), log_path=None) -> str:
    """Why runner ``pid`` ended with ``returncode`` (negative: the signal that killed it)."""
    if returncode is not None and (returncode < 0 or returncode in (134, 137, 139)):
        number = -returncode if returncode < 0 else returncode - 128  # 137: a shell's 128 + SIGKILL
        name = signal_name(number)
        why = f"runner process {pid} was killed by {name}"
        meaning = SIGNALS.get(name)
        if meaning:
            why += f" ({meaning})"
    elif returncode is None:
        why = f"runner process {pid} ended without an exit status"
    elif returncode == 0:  # a clean exit is no reason: say what is odd about it
        why = f"runner process {pid} ended while its tenants ran, without reporting a failure (exit status 0)"
    else:
        meaning = STATUSES.get(returncode, "an error it did not report")
        why = f"runner process {pid} exited with status {returncode} ({meaning})"
    line = error_line(log_lines)
    if line:
        why += f": {line}"
    elif log_path:
        why += f"; its log: {log_path}"
    return why
