"""The resources panel: CPU (total and per core), memory, GPU, EdgeTPU, power, temperature,
disk and USB IO, each as a bar with a sparkline of its recent history. A metric the board
lacks shows "n/a"; ``n`` shows the reason instead of the bar."""
from rich.text import Text
from textual.widgets import Static

SPARK = "▁▂▃▄▅▆▇█"
NO_SENSOR = "no collector on this board reads it ('edgemt devices' lists collectors)"


def spark(values, width: int, top: float = None) -> str:
    vals = [v for v in list(values)[-width:]]
    nums = [v for v in vals if v is not None]
    if not nums:
        return ""
    hi = top or max(nums) or 1.0
    out = []
    for v in vals:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARK[min(len(SPARK) - 1, max(0, int(v / hi * (len(SPARK) - 1) + 0.5)))])
    return "".join(out)


def bar(frac: float, width: int) -> str:
    frac = min(max(frac, 0.0), 1.0)
    full = int(frac * width + 0.5)
    return "█" * full + "░" * (width - full)


def human_rate(v: float) -> str:
    for unit in ("B/s", "kB/s", "MB/s", "GB/s"):
        if abs(v) < 1000 or unit == "GB/s":
            return f"{v:.0f} {unit}" if unit == "B/s" else f"{v:.1f} {unit}"
        v /= 1000.0
    return f"{v:.1f}"


def _first(metrics, names):
    for n in names:
        if n in metrics:
            return n
    return None


def resource_rows(metrics: dict) -> list:
    """[(label, metric name or None, fraction function, value text function, reason)] for the panel."""
    rows = []

    def pct(name):
        return lambda v: v / 100.0, lambda v: f"{v:5.1f}%"

    rows.append(("CPU", "cpu_percent", *pct("cpu_percent")))
    rows.append(("MEM", "mem_percent", *pct("mem_percent")))
    gpus = sorted(n for n in metrics if n.startswith("gpu") and n.endswith("_util_percent"))
    for n in gpus or ["gpu0_util_percent"]:
        rows.append((n.split("_")[0].upper(), n, *pct(n)))
    gmem = sorted(n for n in metrics if n.startswith("gpu") and n.endswith("mem_percent"))
    for n in gmem:
        rows.append((n.split("_")[0].upper() + "m", n, *pct(n)))
    tpu = _first(metrics, sorted(n for n in metrics if n.startswith("edgetpu")))
    rows.append(("TPU", tpu, lambda v: v / 100.0, lambda v: f"{v:5.1f}"))
    power = _first(metrics, ["power_w"] + sorted(n for n in metrics if n.startswith("power_") and n.endswith("_w")))
    rows.append(("PWR", power, lambda v: v / 15.0, lambda v: f"{v:5.1f}W"))
    temps = sorted(n for n in metrics if n.startswith("temp") and n.endswith("_c"))
    rows.append(("TMP", temps[0] if temps else None, lambda v: v / 100.0, lambda v: f"{v:5.1f}°"))
    rows.append(("DSK", "disk_read_bytes_s" if "disk_read_bytes_s" in metrics else None,
                 lambda v: min(v / 200e6, 1.0), human_rate))
    usb = _first(metrics, sorted(n for n in metrics if n.startswith("usb") and n.endswith("_bytes_s")))
    rows.append(("USB", usb, lambda v: min(v / 40e6, 1.0), human_rate))
    return rows


class ResourcesPanel(Static):
    """Bars and sparklines of the latest resource snapshot, sized for the panel's width."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.show_reasons = False
        self._shown_text = None
        self._shown_lines = -1
        self._state = None  # the state drawn last: drawn again when the width changes
        self._shown_width = None  # the panel's width it was drawn for

    def on_resize(self, event) -> None:
        # The run screen draws the state as the app mounts, before the layout has given this
        # panel its width (0: the narrowest bars); a run that does not change afterwards (a
        # replay opened at its end) would keep them until a key or a resize of the terminal.
        if self._state is not None and self.size.width != self._shown_width:
            self.show(self._state)

    def show(self, state) -> None:
        self._state, self._shown_width = state, self.size.width
        metrics, history = state.metrics, state.history
        width = max(self.size.width - 2, 30)
        bar_w = max(6, min(20, (width - 18) // 2))
        spark_w = max(0, width - 18 - bar_w)
        lines = []
        for label, name, frac, fmt, *_ in resource_rows(metrics):
            line = Text(f"{label:<4}", style="bold")
            m = metrics.get(name) if name else None
            value = m[0] if m else None
            if value is None:
                reason = (m[2] if m and m[2] else None) or NO_SENSOR
                if name == "disk_read_bytes_s" or label in ("CPU", "MEM"):
                    reason = (m[2] if m and m[2] else None) or "not sampled yet"
                line.append(" n/a", style="dim")
                if self.show_reasons:
                    line.append(f"  {reason}"[: width - 8], style="italic dim")
            else:
                if name == "disk_read_bytes_s":
                    w = metrics.get("disk_write_bytes_s")
                    value += (w[0] or 0.0) if w else 0.0
                line.append(bar(frac(value), bar_w), style="bold")
                line.append(f" {fmt(value):>9} ")
                hist = list(history.get(name, ()))
                top = 100.0 if name.endswith("_percent") else None
                line.append(spark(hist, spark_w, top), style="dim")
            lines.append(line)
            if label == "CPU":
                cores = sorted((n for n in metrics if n.startswith("cpu") and n[3:].split("_")[0].isdigit()
                                and n.endswith("_percent")), key=lambda n: int(n[3:].split("_")[0]))
                if cores:
                    cl = Text("core", style="bold")
                    cl.append(" ")
                    for n in cores[: width - 6]:
                        v = metrics[n][0]
                        cl.append(" " if v is None else SPARK[min(7, int(v / 100 * 7 + 0.5))])
                    cl.append(f"  {len(cores)} cores", style="dim")
                    lines.append(cl)
        text = Text("\n").join(lines)
        if text != self._shown_text:  # unchanged: nothing to redraw; same height: no layout pass
            self.update(text, layout=len(lines) != self._shown_lines)
            self._shown_text, self._shown_lines = text, len(lines)
