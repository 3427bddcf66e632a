"""The ``r`` dialog: the selected group's rate (open loop) and SLO, or back to closed loop.

Checked with the rules of a SPEC's open-loop keys (``runners.spec.with_rate``, which the
Supervisor applies again) before anything changes; errors show in the form."""
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from runners.errors import BadInput
from runners.spec import with_rate
from tui.screens.form import FormScreen


def slo_text(spec) -> str:
    """A spec's SLO as ``slo=`` takes it (``MS`` or ``pN:MS``), "" without one."""
    if spec.slo_ms is None:
        return ""
    return f"{spec.slo_ms:.10g}" if spec.slo_pct == 99 else f"p{spec.slo_pct:.10g}:{spec.slo_ms:.10g}"


class RateScreen(FormScreen):
    """Dismisses with (rate text, slo text) once ``with_rate`` accepts them, or None on escape."""

    def __init__(self, label: str, spec):
        super().__init__()
        self.label = label
        self.spec = spec

    def compose(self) -> ComposeResult:
        # a trace's mean rate is offered: set, it replaces the trace with constant arrivals (with_rate)
        rate = "" if self.spec.rate is None else f"{self.spec.rate:.10g}"
        arrival = "constant" if self.spec.arrival in (None, "trace") else self.spec.arrival
        with Vertical(id="dialog"):
            yield Static(f"[b]Rate of {self.label}[/] (open loop, {arrival} arrivals; queries a second per "
                         "tenant, one query = one batch)", classes="title")
            yield Static("rate (empty or 0: closed loop)")
            yield Input(value=rate, id="rate")
            yield Static("SLO (MS: the p99 bound; pN:MS; empty: none)")
            yield Input(value=slo_text(self.spec), id="slo")
            yield Static("", id="error", classes="error")
            yield self.buttons("Set")
            yield Static("enter sets, escape cancels; the schedule starts again at the next window", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        rate = self.query_one("#rate", Input).value.strip()
        slo = self.query_one("#slo", Input).value.strip()
        try:
            with_rate(self.spec, rate, slo)
        except BadInput as exc:
            self.show_error(str(exc))
            return
        self.dismiss((rate, slo))
