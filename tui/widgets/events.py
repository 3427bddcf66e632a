"""The events log: one line per run event, newest at the bottom."""
from rich.text import Text
from textual.containers import Vertical

STYLE = {"failed": "bold red", "error": "bold red", "moved": "bold", "exported": "green", "added": "green"}


def describe(kind: str, tenant, d: dict) -> str:
    g = f"g{d['group']}" if d.get("group") is not None else ""
    if kind == "added":
        return f"{g} added: {d.get('spec', '')}"
    if kind == "stepped":
        return f"{g} stepped {d.get('from')} -> {d.get('to')} tenants"
    if kind == "moved":
        return f"{g} moved {d.get('from')} -> {d.get('to')} ({d.get('count')} tenants)"
    if kind == "batch_changed":
        return f"{g} batch {d.get('from')} -> {d.get('to')}"
    if kind == "failed":
        return f"{g} t{tenant} failed: {d.get('reason', '')}"
    if kind == "exported":
        return f"exported {d.get('rows')} rows to {d.get('path')}"
    if kind in ("paused", "resumed", "removed"):
        return f"{g} {kind}"
    if kind == "loaded":
        return f"t{tenant} loaded ({d.get('weights') or '?'} weights, {d.get('load_s', 0) or 0:.1f} s)"
    if kind == "batch_clamped":
        return f"t{tenant} batch {d.get('asked')} clamped to {d.get('used')}: {d.get('reason', '')}"
    if kind == "oversubscribed":
        return f"oversubscribed: {d.get('threads')} (threads= per tenant lowers it)"
    rest = " ".join(f"{k}={v}" for k, v in d.items())
    return f"{kind} {('t' + str(tenant)) if tenant is not None else ''} {rest}".strip()


class EventsLog(Vertical):
    """Scrolling run events, newest at the bottom.

    The log itself (a RichLog, about a tenth of the UI's time to first frame) is mounted
    once the first frame is on screen, like the chart's plot; lines added before then are
    kept and written then.
    """

    DEFAULT_CSS = """
    EventsLog > RichLog { height: 1fr; background: transparent; scrollbar-size-vertical: 1; }
    """

    def __init__(self, max_lines: int = 500, **kw):
        super().__init__(**kw)
        self.max_lines = max_lines
        self.log_widget = None
        self._pending = []

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_log)

    async def _mount_log(self) -> None:
        if self.log_widget is not None:
            return
        from textual.widgets import RichLog  # with the log, after the first frame

        log = RichLog(wrap=True, markup=False, max_lines=self.max_lines, id="events-log")
        await self.mount(log)
        self.log_widget = log
        for line in self._pending:
            log.write(line)
        self._pending = []

    def add(self, t: float, kind: str, tenant, detail: dict) -> None:
        line = Text(f"{t:7.1f}s ", style="dim")
        line.append(describe(kind, tenant, detail or {}), style=STYLE.get(kind, ""))
        if self.log_widget is None:
            self._pending = (self._pending + [line])[-self.max_lines:]
        else:
            self.log_widget.write(line)
