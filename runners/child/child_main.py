"""The main program of a runner child (run by ``__main__.py``): arguments, probe, check, serve.

--probe: print one ``hello`` line (or a ``failed`` line and exit 3 if the framework does
not import) and exit. --check SPEC_JSON: load one model, run one batch, print ``checked``
or ``failed``. Otherwise serve: hello, then commands from stdin until ``{"cmd": "stop"}``
or EOF (the parent is gone). See docs/child.md.

``main(argv, backends=...)`` takes the backends as a parameter (default: the framework
backends, ``child_loop.FrameworkBackends``), so a test can run this very program, protocol
and all, with a backend of known timing (tests/oracle/oracle_child.py).
"""
import argparse
import ctypes
import os
import signal
import sys
import time
import traceback

import wire
from child_io import TenantFailure, failure_reason, take_stdout

FRAMEWORKS = ("torch", "tensorflow", "tflite", "mxnet", "onnxruntime")
PR_SET_PDEATHSIG = 1


def log(message, exc=None):
    """One line on stderr (the per-tenant log file), with a traceback when exc is given."""
    stamp = time.strftime("%H:%M:%S")
    try:
        sys.stderr.write("[child %d %s] %s\n" % (os.getpid(), stamp, message))
        if exc is not None:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def die_with_parent():
    """PR_SET_PDEATHSIG=SIGKILL (Linux) and a higher oom_score_adj; errors are ignored."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except Exception as exc:  # noqa: BLE001
            log("prctl(PR_SET_PDEATHSIG) failed: %s" % exc)
    expected = os.environ.get("EDGEMT_PARENT_PID")
    if expected and expected.isdigit() and int(expected) != os.getppid():
        # The parent died before the death signal was armed: nobody will read our reports.
        log("parent %s is already gone: exiting" % expected)
        os._exit(0)
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("500")
    except (OSError, IOError):
        pass


def hello_fields(framework, backends, defer_import=False):
    """The hello event's fields; raises if the framework does not import."""
    fields = dict(
        python="%d.%d.%d" % sys.version_info[:3],
        framework=framework,
        framework_version=None,
        runtime=None,
        numpy=None,
        devices=["cpu"],
        pid=os.getpid(),
        protocol=wire.PROTOCOL_VERSION,
    )
    fields.update(backends.probe(framework, defer_import=defer_import))
    return fields


def import_failure(framework, exc):
    """The reason of a framework that does not import, naming the fix where one is known."""
    reason = failure_reason(exc)
    msg = str(exc)
    if framework == "mxnet" and isinstance(exc, AttributeError) and ("np.bool" in msg or "attribute 'bool'" in msg):
        reason += " -- mxnet 1.9.1 needs numpy<=1.23.5: pip install numpy==1.23.5"
    return reason


def main(argv=None, backends=None, after_batch=None):
    """Runs the child; returns its exit status. ``backends`` (default FrameworkBackends())
    makes the backends and reads the inputs; ``after_batch`` is child_loop's test hook."""
    from child_loop import FrameworkBackends

    backends = backends or FrameworkBackends()
    parser = argparse.ArgumentParser(prog="runners/child")
    parser.add_argument("--framework", choices=FRAMEWORKS)
    parser.add_argument("--probe", action="store_true", help="print hello and exit")
    parser.add_argument("--check", metavar="SPEC_JSON",
                        help="load a tenant's model and run one batch-1 call, print checked or failed, exit")
    args = parser.parse_args(argv)

    if args.check:
        return check_spec(args.check, backends)
    if not args.probe:
        die_with_parent()
    emitter = take_stdout()

    try:
        # mxnet is imported at the first start: MXNET_CUDNN_AUTOTUNE_DEFAULT must be set first.
        fields = hello_fields(args.framework, backends, defer_import=not args.probe and args.framework == "mxnet")
    except Exception as exc:  # noqa: BLE001 - a framework that does not import
        log("framework %s does not import" % args.framework, exc=exc)
        emitter.emit("failed", tenant=None, reason=import_failure(args.framework, exc))
        return 3
    emitter.emit("hello", **fields)
    if args.probe:
        return 0
    return serve(emitter, args.framework, backends, after_batch)


def check_spec(spec_json, backends):
    """Pre-flight of a user's model file: load it and run one batch-1 call on built-in images.

    The controller runs this before anything starts, so a file that is not a model, one
    whose input size does not fit, or an EdgeTPU-compiled model on the CPU is bad input
    (one line, exit 2) rather than a tenant failing mid-run.
    """
    import json

    emitter = take_stdout()
    try:
        spec = json.loads(spec_json)
        backend = backends.make(spec, log)
        backend.load()
        used, _ = backend.fit_batch(1)
        images, _ = backends.load_images(None, backend.input_size)
        batch = next(iter(backends.batches_of(images, used)))
        backend.feed(backend.to_device(backend.host_batch(batch)))
        backend.call()
    except Exception as exc:  # noqa: BLE001 - every failure is the answer
        log("check failed", exc=exc)
        emitter.emit("failed", tenant=None, reason=failure_reason(exc))
        return 3
    emitter.emit("checked", input_size=int(backend.input_size))
    return 0


def serve(emitter, framework, backends, after_batch=None):
    from child_loop import Child

    child = Child(emitter, log, framework=framework, backends=backends, after_batch=after_batch)
    child.reporter.start()  # emits windows, and exits the process if the parent changes
    stdin = sys.stdin
    while True:
        try:
            line = stdin.readline()
        except (OSError, ValueError):
            line = ""
        if not line:
            log("stdin closed: the parent is gone, stopping")
            child.shutdown(wait_s=1.0, announce=False)
            return 0
        cmd = wire.decode(line)
        if cmd is None:
            emitter.emit("log", message="not a protocol command: %r" % line.strip()[:200])
            continue
        try:
            keep = child.handle(cmd)
        except Exception as exc:  # noqa: BLE001
            log("command %r failed" % (cmd,), exc=exc)
            emitter.emit("log", message="command %s failed: %s" % (cmd.get("cmd"), failure_reason(exc)))
            continue
        if not keep:
            child.shutdown(wait_s=5.0)
            return 0

