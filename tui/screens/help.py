"""The ``?`` screen: every key of the UI."""
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """\
[b]a[/]        add a group (form: model, framework, resource, batch, count, isolation, threads)
[b]+ / -[/]    step the selected group's concurrency by one
[b]> / <[/]    step it by the larger step (config.toml: step = {step})
[b]m[/]        move the selected group to another placement
[b]b / B[/]    halve / double the selected group's batch
[b]r[/]        the selected group's rate (open loop) and SLO; empty or 0: closed loop
[b]p[/]        pause or resume the selected group
[b]d[/]        remove the selected group
[b]enter[/]    unfold a group to its tenants
[b]e[/]        export the run to CSV
[b]n[/]        show why a resource is n/a
[b]t[/]        next theme (saved in config.toml)
[b]?[/]        this help
[b]x[/]        (following a run) ask its controller to stop it cleanly
[b]q[/]        quit: stop every tenant cleanly, flush the DB
[b]s[/]        start an experiment (sweep, tuner, capacity) on this run; s again stops it"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, step: int = 4):
        super().__init__()
        self.step = step

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]edgemt keys[/]", classes="title")
            yield Static(KEYS.format(step=self.step))
            yield Static("escape closes", classes="hint")
