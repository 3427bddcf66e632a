"""`edgemt` commands started by forking a process that has already imported edgemt.

The fast tier (`make check`) runs the bad-input table's ~170 refused commands; started as
`edgemt`, each paid an interpreter start and edgemt's imports (~0.15 s of CPU, most of the
table's time). A zygote is a Python process started once (per test worker) that imports
what the `edgemt` script imports and waits; each command is a fork of it that runs the
script's own two lines (``from tui.cli import main; sys.exit(main())``) with the test's
argv, environment, working folder and standard streams (real file descriptors: pipes,
/dev/null, /dev/full), and ends through the interpreter's own exit (streams flushed,
atexit run). So each command is still its own process with its own exit status and
streams, started from a state in which nothing but imports (and the per-process memos of
PRIME) has happened; only the interpreter start and the entry script's path differ from `edgemt`
(tests/functional/test_bad_input.py runs some rows through the real `edgemt` too, and
`make test` runs every row through it).

    with Zygote() as z:
        code, out, err = z.run(["run", "--tenant", "x"], env=os.environ)

Linux only (file descriptors pass over a Unix socket).
"""
import array
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from edgemt_testlib import EDGEMT

# What the `edgemt` script imports, and the modules its commands import on first use
# (tui/cli.py's _dispatch; a run's Session, Supervisor, collectors and their libraries):
# imported once in the zygote. A name that no longer exists is skipped (it only costs its
# import in each command).
PRELOAD = ("tui.cli", "tui.headless", "tui.info", "tui.experiments_cli", "tui.diff_cli", "tui.session",
           "tui.capacity_cli", "tui.mlperf_cli", "tui.fleet_cli", "tui.waiting",
           "storage.store", "storage.schema", "storage.energy", "runners.config", "runners.supervisor",
           "runners.runner_process", "runners.placement", "runners.mlperf", "runners.threads", "hashlib",
           "runners.experiments.concurrency_sweep", "runners.experiments.batch_sweep",
           "runners.experiments.capacity", "runners.experiments.dmp", "runners.experiments.tuner", "runners.experiments.mlperf_scenario",
           "storage.export", "storage.analysis", "tui.report",
           "collectors.registry", "collectors.fingerprint", "collectors.sampler",
           "psutil", "pynvml", "ina219", "rich.console", "rich.table")
# Called once in the zygote after the imports: per-process memos of production code that
# every fork then starts with, as a process that starts many runs (the UI, an experiment)
# has them from its first run on. tui.session.libedgetpu_version: ldconfig, gcc, ld and
# dpkg-query, ~0.05 s of CPU a run.
PRIME = ("tui.session:libedgetpu_version",)

SERVER = r'''
import array, gc, importlib, json, os, socket, sys

sock = socket.socket(fileno=int(sys.argv[1]))
for name in json.loads(sys.argv[2]):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
for name in json.loads(sys.argv[3]):
    module, _, function = name.partition(":")
    try:
        getattr(importlib.import_module(module), function)()
    except (ImportError, AttributeError):
        pass
# What was imported stays out of the collector's way in every fork: no fork's collections
# touch (and so copy) the imported modules' pages (half a command's CPU).
gc.freeze()


def receive():
    data = b""
    fds = array.array("i")
    while not data.endswith(b"\n"):
        chunk, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
        if not chunk:
            sys.exit(0)  # the test worker is gone
        data += chunk
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return json.loads(data), list(fds)


def answer(obj):
    sock.sendall((json.dumps(obj) + "\n").encode())


while True:
    request, fds = receive()
    pid = os.fork()
    if pid == 0:
        # The command: the edgemt script's own lines, in a process that has only imported.
        sock.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = request["argv"]
        from tui.cli import main
        sys.exit(main())  # leaves through the interpreter's exit, as the script does
    for fd in fds:
        os.close(fd)
    answer({"pid": pid})
    _, status = os.waitpid(pid, 0)
    answer({"returncode": -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)})
'''


class Command:
    """One command started by the zygote: ``pid``, and ``wait()`` for its return code
    (as subprocess's: negative for a signal)."""

    def __init__(self, zygote, pid):
        self.zygote = zygote
        self.pid = pid
        self.returncode = None

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self.zygote._read()["returncode"]
        return self.returncode


class Zygote:
    def __init__(self):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # Started as `edgemt` would be by the tests: no terminal, the test's environment.
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(theirs.fileno()), json.dumps(PRELOAD),
                                      json.dumps(PRIME)],
                                     pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        theirs.close()
        self._buffer = b""
        self.env = dict(os.environ)  # the environment it started with (and imported in)

    def start(self, argv, env, stdin, stdout, stderr, cwd=None) -> Command:
        """Starts `edgemt ARGV` with ENV; STDIN, STDOUT, STDERR are file descriptors (the
        caller keeps its copies)."""
        request = {"argv": [EDGEMT, *argv], "env": dict(env), "cwd": cwd or os.getcwd()}
        fds = array.array("i", [stdin, stdout, stderr])
        self.sock.sendmsg([(json.dumps(request) + "\n").encode()],
                          [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
        return Command(self, self._read()["pid"])

    def run(self, argv, env, timeout=300, cwd=None):
        """Runs `edgemt ARGV` with stdin /dev/null and stdout, stderr pipes to its end, in
        CWD (default: ours); returns (returncode, stdout bytes, stderr bytes). Past TIMEOUT
        seconds the command is killed and subprocess.TimeoutExpired raised, as
        subprocess.run does."""
        stdin = os.open(os.devnull, os.O_RDONLY)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            cmd = self.start(argv, env, stdin, out_w, err_w, cwd=None if cwd is None else str(cwd))
        finally:
            for fd in (stdin, out_w, err_w):
                os.close(fd)
        got = {}

        def drain(name, fd):
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
            os.close(fd)
            got[name] = b"".join(chunks)

        readers = [threading.Thread(target=drain, args=(name, fd), daemon=True)
                   for name, fd in (("out", out_r), ("err", err_r))]
        for t in readers:
            t.start()
        end = time.monotonic() + timeout
        for t in readers:
            t.join(max(0.0, end - time.monotonic()))
            if t.is_alive():
                os.kill(cmd.pid, signal.SIGKILL)
                cmd.wait()
                raise subprocess.TimeoutExpired(["edgemt", *argv], timeout)
        return cmd.wait(), got["out"], got["err"]

    def _read(self) -> dict:
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"the edgemt zygote ended (exit {self.proc.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.sock.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
