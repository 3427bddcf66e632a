"""The events log: one line per run event, newest at the bottom."""
from rich.text import Text
from textual.widgets import RichLog

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
    rest = " ".join(f"{k}={v}" for k, v in d.items())
    return f"{kind} {('t' + str(tenant)) if tenant is not None else ''} {rest}".strip()


class EventsLog(RichLog):
    """Scrolling run events."""

    def add(self, t: float, kind: str, tenant, detail: dict) -> None:
        line = Text(f"{t:7.1f}s ", style="dim")
        line.append(describe(kind, tenant, detail or {}), style=STYLE.get(kind, ""))
        self.write(line)
