"""The top line(s): host, accelerators found, frameworks, DB, run id and elapsed time."""
from rich.text import Text
from textual.widgets import Static


def _elapsed(t: float) -> str:
    t = int(max(t, 0))
    return f"{t // 3600:d}:{t // 60 % 60:02d}:{t % 60:02d}"


class RunHeader(Static):
    """Two lines of facts about the host and the run; the clock is the run's (live or replayed)."""

    # Each row is cut at the edge, never wrapped onto the next: a wrapped first row (a long
    # host or CPU name) would push the run row out of the header's two rows.
    DEFAULT_CSS = "RunHeader { text-wrap: nowrap; text-overflow: ellipsis; }"

    def show(self, state, mode: str = "live") -> None:
        i = state.info
        line1 = Text()
        line1.append(" edgemt ", style="bold reverse")
        line1.append(f" {i.get('host', '?')}", style="bold")
        line1.append(f"  {i.get('cpu', '?')} x{i.get('cores', '?')}  mem {i.get('memory', '?')}")
        line1.append(f"  GPU {i.get('gpus') or 'none'}  EdgeTPU {i.get('edgetpus') or 'none'}")
        line2 = Text()
        line2.append(f" run {i.get('run_id', '?')}", style="bold")
        if mode != "live":
            line2.append(f" ({mode})", style="italic")
        line2.append(f"  {_elapsed(state.t)}", style="bold")
        line2.append(f"  total {state.total_now():.1f} img/s")
        line2.append(f"  frameworks {i.get('frameworks') or '…'}")
        line2.append(f"  db {i.get('db', '?')}", style="dim")
        text = Text("\n").join([line1, line2])
        if text != getattr(self, "_shown_text", None):  # two fixed lines: no layout pass
            self._shown_text = text
            self.update(text, layout=False)
