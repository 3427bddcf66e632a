"""Checks that a SPEC's placement exists here before anything starts.

The framework's environment must exist and import (asked of a probe child), and the
resource must be one it sees: ``cuda:N`` from the probe's device list, EdgeTPUs from an
enumerator passed in (the CLI passes ``collectors.edgetpu.enumerate_edgetpus``), so the
controller never imports a framework or pycoral.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from runners import environments, probe
from runners.child_spec import child_spec
from runners.child import slot_wait, wire
from runners.errors import BadInput, Interrupted
from runners.exit_reasons import exit_reason
from runners.spec import TenantSpec

# onnxruntime's provider of each resource kind, and how to get the GPU ones.
ORT_PROVIDER = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider",
                "dla": "TensorrtExecutionProvider"}
ORT_GPU_HINT = ("install the GPU build: 'edgemt env create onnxruntime' on a host with the NVIDIA driver "
                "(onnxruntime-gpu), or on a Jetson JetPack's onnxruntime-gpu wheel with "
                "'edgemt env use onnxruntime /usr/bin/python3'")
CORAL_HINT = ("install Coral's runtime (libedgetpu1-std from Coral's package source) and plug the "
              "accelerator in; 'edgemt devices' lists what was found")


class PlacementChecker:
    check_timeout_s = 300.0  # loading a user's model file and running it once
    def __init__(self, cfg: dict = None, edgetpu_lister=None, prober=probe.probe, progress=None,
                 realtime_refusal=slot_wait.realtime_refusal):
        self.cfg = cfg
        # why this process may not wait at real-time priority (rt=on), or None; the runner
        # children are this user's too, so the answer here is theirs
        self.realtime_refusal = realtime_refusal
        self.realtime_checked = False
        self.edgetpu_lister = edgetpu_lister or (lambda: [])
        self.prober = prober
        # progress(text, elapsed_s), called about twice a second during a long wait (tui/waiting.py)
        self.progress = progress or (lambda text, elapsed: None)
        # placements that passed ``check``: on the way to a start a placement is checked once
        # (the CLI's check_all or the UI's form), and add_group / move, which check what
        # comes to them without it (an experiment's groups, a test's), find it here
        self.checked = set()

    def python_for(self, framework: str) -> str:
        return environments.require_python(framework, self.cfg).python

    def hello(self, framework: str) -> dict:
        python = self.python_for(framework)
        answer = self.prober(framework, python)
        if answer.get("ev") != "hello":
            raise BadInput(
                f"the {framework} environment ({python}) does not work: {answer.get('reason')}; "
                f"recreate it with 'edgemt env create {framework}' or choose one with 'edgemt env use {framework} PYTHON'"
            )
        return answer

    def check(self, spec: TenantSpec) -> None:
        """Raises BadInput if the spec's environment or resource is missing; a placement
        that passed once is not checked again (a device lost since then fails its tenant
        when the child loads the model, with the child's reason)."""
        if spec.rt and not self.realtime_checked:
            self._check_realtime(spec)
        if spec.placement in self.checked:
            return
        self._check(spec)
        self.checked.add(spec.placement)

    def _check_realtime(self, spec: TenantSpec) -> None:
        answer = []
        # tried in a thread of its own: the policy is per thread, and this one's stays as it is
        t = threading.Thread(target=lambda: answer.append(self.realtime_refusal()), name="rt-check")
        t.start()
        t.join()
        if answer[0] is not None:
            raise BadInput(f"rt=on in SPEC {str(spec)!r}: {answer[0]}; or leave rt=on out")
        self.realtime_checked = True

    def _check(self, spec: TenantSpec) -> None:
        hello = self.hello(spec.framework)
        res = spec.resource
        if spec.framework == "onnxruntime":
            self._check_provider(spec, hello)
        if res.startswith("cuda"):
            devices = hello.get("devices") or []
            if res not in devices:
                found = ", ".join(d for d in devices if d.startswith("cuda")) or "none"
                raise BadInput(f"resource {res} not found by {spec.framework}: CUDA devices here: {found}")
        elif res.startswith("edgetpu"):
            found = list(self.edgetpu_lister())
            if not found:
                raise BadInput(f"resource {res}: no EdgeTPU was found; {CORAL_HINT}")
            if res != "edgetpu" and res not in found:
                raise BadInput(f"resource {res} not found; EdgeTPUs here: {', '.join(found)}")

    @staticmethod
    def _check_provider(spec: TenantSpec, hello: dict) -> None:
        """onnxruntime: the resource's execution provider must be among those the probe
        loaded; a GPU resource's device among the probe's CUDA devices."""
        kind, _, index = spec.resource.partition(":")
        wanted = ORT_PROVIDER[kind]
        have = hello.get("providers") or []
        if wanted not in have:
            hint = ORT_GPU_HINT + (" with TensorRT (libnvinfer)" if wanted.startswith("Tensorrt") else "")
            raise BadInput(f"{spec.placement} needs onnxruntime's {wanted}, which does not load here "
                           f"(this onnxruntime {hello.get('framework_version')} loads {', '.join(have) or 'none'}); "
                           f"{hint}")
        if kind in ("cuda", "tensorrt"):
            device = f"cuda:{index}"
            if device not in (hello.get("devices") or []):
                found = ", ".join(d for d in hello.get("devices") or [] if d.startswith("cuda")) or "none"
                raise BadInput(f"resource {spec.resource}: GPU {index} not found by onnxruntime; CUDA devices here: {found}")

    def check_file(self, spec: TenantSpec) -> None:
        """Loads a user's model file in a child of its framework and runs one call."""
        import json
        import subprocess

        from runners import paths

        check = child_spec(spec, batch=1, models_dir=paths.models_dir())  # no run keys: one batch-1 call
        cmd = probe.child_command(self.python_for(spec.framework), spec.framework) + ["--check", json.dumps(check)]
        what = f"checking file={spec.file} on {spec.placement}"
        start = time.monotonic()
        proc = None
        try:
            # its own session: Ctrl-C reaches this process, which stops the check and says so
            # (also when it lands while the child is being started: the start is inside the try)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            while True:
                try:
                    stdout, _ = proc.communicate(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    if elapsed > self.check_timeout_s:
                        raise BadInput(f"file={spec.file}: loading and running it once on {spec.placement} took over "
                                       f"{self.check_timeout_s:.0f} s (stopped); try a smaller model or size=") \
                            from None
                    self.progress(what, elapsed)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted by Ctrl-C (SIGINT) while {what}, after "
                              f"{time.monotonic() - start:.1f} s; nothing was started") from None
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, b"")
        answer = None
        for line in out.stdout.decode(errors="replace").splitlines():
            msg = wire.decode(line)
            if msg and msg.get("ev") in ("checked", "failed"):
                answer = msg
        if answer is None or answer["ev"] != "checked":
            reason = (answer or {}).get("reason") or exit_reason(proc.pid, out.returncode).replace(
                "runner process", "the check process", 1)
            raise BadInput(f"file={spec.file} does not run on {spec.placement}: {reason}")

    def check_all(self, specs) -> None:
        """Checks several specs, probing each framework once (in parallel)."""
        frameworks = sorted({s.framework for s in specs})
        for s in specs:  # asked of the OS at once, before any environment starts
            if s.rt and not self.realtime_checked:
                self._check_realtime(s)
        for fw in frameworks:  # missing environments first: cheap, and the clearest message
            self.python_for(fw)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(frameworks) or 1) as pool:
            futures = [pool.submit(self.hello, fw) for fw in frameworks]
            try:
                while not wait(futures, timeout=0.5)[1] == set():
                    self.progress(f"starting the {', '.join(frameworks)} environment{'s' if len(frameworks) > 1 else ''}",
                                  time.monotonic() - start)
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted by Ctrl-C (SIGINT) while starting the {', '.join(frameworks)} "
                                  f"environment, after {time.monotonic() - start:.1f} s; nothing was started") \
                    from None
            for f in futures:
                f.result()
        for s in specs:
            self.check(s)
        for s in specs:  # before anything starts, a user's model file is loaded and run once
            if s.file:
                self.check_file(s)
