"""Checks that a SPEC's placement exists here before anything starts.

The framework's environment must exist and import (asked of a probe child), and the
resource must be one it sees: ``cuda:N`` from the probe's device list, EdgeTPUs from an
enumerator passed in (the CLI passes ``collectors.edgetpu.enumerate_edgetpus``), so the
controller never imports a framework or pycoral.
"""
from concurrent.futures import ThreadPoolExecutor

from runners import environments, probe
from runners.errors import BadInput
from runners.spec import TenantSpec

CORAL_HINT = ("install Coral's runtime (libedgetpu1-std from Coral's package source) and plug the "
              "accelerator in; 'edgemt devices' lists what was found")


class PlacementChecker:
    def __init__(self, cfg: dict = None, edgetpu_lister=None, prober=probe.probe):
        self.cfg = cfg
        self.edgetpu_lister = edgetpu_lister or (lambda: [])
        self.prober = prober

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
        """Raises BadInput if the spec's environment or resource is missing."""
        hello = self.hello(spec.framework)
        res = spec.resource
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

    def check_all(self, specs) -> None:
        """Checks several specs, probing each framework once (in parallel)."""
        frameworks = sorted({s.framework for s in specs})
        for fw in frameworks:  # missing environments first: cheap, and the clearest message
            self.python_for(fw)
        with ThreadPoolExecutor(max_workers=len(frameworks) or 1) as pool:
            list(pool.map(self.hello, frameworks))
        for s in specs:
            self.check(s)
