"""The ``a`` form: a new group, offering only valid choices and validated before anything starts.

Choices come from the catalog (models and the frameworks that run each), the framework
environments found here and the resources each one sees (``cpu``, the ``cuda:N`` its
probe reported, EdgeTPUs for tflite). The SPEC is checked with ``parse_spec`` and the
placement with the PlacementChecker (in a thread: a probe may take seconds) before the
form closes; every error shows in the form.
"""
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from runners.catalog import CATALOG, FRAMEWORKS, model_names
from runners.errors import BadInput
from runners.spec import DEFAULT_ISOLATION, ISOLATIONS, parse_spec
from tui.screens.form import FormScreen


def frameworks_for(model: str, envs: dict) -> list:
    """Frameworks that run ``model`` and have an environment here (all of the model's when unknown)."""
    fws = [fw for fw in FRAMEWORKS if CATALOG[model].supports(fw)]
    if envs:
        fws = [fw for fw in fws if envs.get(fw) and not isinstance(envs[fw], str)]
    return fws


def resources_for(framework: str, envs: dict, edgetpus=()) -> list:
    hello = envs.get(framework) if envs else None
    out = ["cpu"]
    if isinstance(hello, dict):
        gpus = [d for d in hello.get("devices") or [] if d.startswith("cuda")]
        out += gpus
        # onnxruntime's TensorRT provider on each GPU, where it loads (DLA cores: dla:N in a SPEC)
        if framework == "onnxruntime" and "TensorrtExecutionProvider" in (hello.get("providers") or []):
            out += ["tensorrt:" + d.split(":", 1)[1] for d in gpus]
    if framework == "tflite":
        out += list(edgetpus)
    return out


class AddGroupScreen(FormScreen):
    """Dismisses with a checked TenantSpec, or None on escape."""

    # enter in a field adds the group, so a newcomer can accept the defaults with one key
    AUTO_FOCUS = "#batch"
    def __init__(self, envs: dict, checker=None, edgetpus=(), model: str = "mobilenet_v2"):
        super().__init__()
        self.envs = envs or {}
        self.checker = checker
        self.edgetpus = list(edgetpus)
        self.model = model if model in CATALOG else model_names()[0]

    def compose(self) -> ComposeResult:
        fws = frameworks_for(self.model, self.envs) or ["torch"]
        with Vertical(id="dialog"):
            yield Static("[b]Add a group[/]", classes="title")
            with Horizontal(classes="row"):
                yield Label("model", classes="label")
                yield Select([(m, m) for m in model_names()], value=self.model, allow_blank=False, id="model")
            with Horizontal(classes="row"):
                yield Label("framework", classes="label")
                yield Select([(f, f) for f in fws], value=fws[0], allow_blank=False, id="framework")
            with Horizontal(classes="row"):
                yield Label("resource", classes="label")
                res = resources_for(fws[0], self.envs, self.edgetpus)
                yield Select([(r, r) for r in res], value=res[0], allow_blank=False, id="resource")
            with Horizontal(classes="row"):
                yield Label("batch", classes="label")
                yield Input("1", type="integer", id="batch")
            with Horizontal(classes="row"):
                yield Label("count", classes="label")
                yield Input("1", type="integer", id="count")
            with Horizontal(classes="row"):
                yield Label("isolation", classes="label")
                yield Select([(i, i) for i in ISOLATIONS], value=DEFAULT_ISOLATION[fws[0]], allow_blank=False,
                             id="isolation")
            with Horizontal(classes="row"):
                yield Label("threads", classes="label")
                yield Input("", placeholder="default", type="integer", id="threads")
            yield Static("", id="error", classes="error")
            yield self.buttons("Add")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "model":
            fws = frameworks_for(event.value, self.envs) or ["torch"]
            fw = self.query_one("#framework", Select)
            keep = fw.value if fw.value in fws else fws[0]
            fw.set_options([(f, f) for f in fws])
            fw.value = keep
        elif event.select.id == "framework" and event.value in FRAMEWORKS:
            res = resources_for(event.value, self.envs, self.edgetpus)
            rs = self.query_one("#resource", Select)
            keep = rs.value if rs.value in res else res[0]
            rs.set_options([(r, r) for r in res])
            rs.value = keep
            self.query_one("#isolation", Select).value = DEFAULT_ISOLATION[event.value]

    def spec_text(self) -> str:
        v = {k: self.query_one(f"#{k}", Select).value for k in ("model", "framework", "resource", "isolation")}
        parts = [str(v["model"]), f"framework={v['framework']}", f"resource={v['resource']}"]
        for k in ("batch", "count", "threads"):
            raw = self.query_one(f"#{k}", Input).value.strip()
            if raw or k != "threads":
                parts.append(f"{k}={raw}")
        parts.append(f"isolation={v['isolation']}")
        return ",".join(parts)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        try:
            spec = parse_spec(self.spec_text())
        except BadInput as exc:
            self.show_error(str(exc))
            return
        if self.checker is None:
            self.dismiss(spec)
            return
        self.show_error("checking the placement…")
        self._check(spec)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check(self, spec) -> None:
        try:
            self.checker.check(spec)
        except BadInput as exc:
            self.app.call_from_thread(self.show_error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, spec)
