"""The ``m`` dialog: another placement for the selected group (frameworks that run its
model and have an environment here, and the resources each one sees)."""
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static

from runners.errors import BadInput
from runners.spec import DEFAULT_ISOLATION, TenantSpec
from tui.screens.add_group import frameworks_for, resources_for
from tui.screens.form import FormScreen


class MoveScreen(FormScreen):
    """Dismisses with (framework, resource), or None on escape."""

    def __init__(self, group_label: str, model: str, placement: str, envs: dict, checker=None, edgetpus=()):
        super().__init__()
        self.group_label, self.model, self.placement = group_label, model, placement
        self.envs, self.checker, self.edgetpus = envs or {}, checker, list(edgetpus)

    def choices(self) -> list:
        out = []
        for fw in frameworks_for(self.model, self.envs):
            for res in resources_for(fw, self.envs, self.edgetpus):
                if f"{fw}@{res}" != self.placement:
                    out.append(f"{fw}@{res}")
        return out

    def compose(self) -> ComposeResult:
        choices = self.choices()
        with Vertical(id="dialog"):
            yield Static(f"[b]Move {self.group_label}[/] ({self.model} on {self.placement})", classes="title")
            with Horizontal(classes="row"):
                yield Label("to", classes="label")
                if choices:
                    yield Select([(c, c) for c in choices], value=choices[0], allow_blank=False, id="target")
                else:
                    yield Select([], id="target")
            yield Static("" if choices else f"no other placement here runs {self.model}", id="error",
                         classes="error")
            yield self.buttons("Move")

    def key_enter(self) -> None:
        self.submit()

    def submit(self) -> None:
        target = self.query_one("#target", Select).value
        if not isinstance(target, str) or "@" not in target:
            self.show_error(f"no other placement here runs {self.model}")
            return
        fw, res = target.split("@", 1)
        if self.checker is None:
            self.dismiss((fw, res))
            return
        self.show_error("checking the placement…")
        self._check(TenantSpec(self.model, fw, res, isolation=DEFAULT_ISOLATION[fw]))

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check(self, spec) -> None:
        try:
            self.checker.check(spec)
        except BadInput as exc:
            self.app.call_from_thread(self.show_error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, (spec.framework, spec.resource))
