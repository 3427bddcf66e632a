"""The tenants table: one row per group (the tenants one SPEC, `a` or `+` started), with
the group's aggregates, unfolding (enter) to its tenants; failed tenants show a row with
their reason under their group.

Thousands of tenants (issue 13) stay a few rows: an unfolded group shows its first
``TENANT_ROWS`` tenants and one row saying how many more there are, and a folded group
its first ``FAILED_ROWS`` failed tenants and one row counting the rest. Following a fleet
DB (``edgemt --follow FLEET.db``) a ``board`` column comes first and each board has a
total row above its groups."""
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from runners.tenant_state import TenantState
from tui.app_state import open_loop_figures

COLUMNS = (("group", "g"), ("model", "model"), ("placement", "placement"), ("batch", "b"), ("iso", "iso"),
           ("n", "n"), ("state", "state"), ("now/s", "now"), ("mean/s", "mean"), ("p50ms", "p50"),
           ("p99ms", "p99")) + (("rate/s", "rate"), ("good/s", "good"), ("slo ms", "slo"))  # open loop
TENANT_ROWS = 20  # tenant rows of an unfolded group at most; the rest are one "more" row
FAILED_ROWS = 10  # failed-tenant rows of a folded group at most
STATE_STYLE = {TenantState.RUNNING: "bold", TenantState.FAILED: "bold red", TenantState.STARTING: "italic",
               TenantState.PAUSED: "dim", TenantState.STOPPED: "dim", "removed": "dim"}  # removed: a group's state


def _num(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


MISSED_STYLE, MET_STYLE = "bold red", "green"


def open_loop_cells(g) -> list:
    """The ``rate/s``, ``good/s`` and ``slo ms`` cells of a group row: its rate per tenant,
    its goodput and its query latency at the SLO's percentile against the bound
    ("87/100", red when the SLO is missed); "" for a closed-loop group."""
    f = open_loop_figures(g.tenants)
    if f is None:
        return ["", "", ""]
    if f.slo_ms is None:
        return [f"{f.rate:.4g}", "-", Text(f"{_num(f.latency_ms, '{:.0f}')}/-")]
    pct = "" if f.slo_pct == 99 else f"p{f.slo_pct:g} "
    style = MISSED_STYLE if f.met is False else MET_STYLE if f.met else ""
    return [f"{f.rate:.4g}", _num(f.goodput), Text(f"{pct}{_num(f.latency_ms, '{:.0f}')}/{f.slo_ms:.4g}", style=style)]


def missed_slo(cells) -> bool:
    """Whether a group row's open-loop cells say its SLO is missed (the row is coloured)."""
    return isinstance(cells[-1], Text) and cells[-1].style == MISSED_STYLE


def same_cell(a, b) -> bool:
    """Whether two cells draw the same: rich's Text compares its text and spans, not its
    style, so an SLO cell that turns from green to red with the same figures would not
    be updated."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans
    return type(a) is type(b) and a == b


def padded(cells, n: int = len(COLUMNS)) -> list:
    """A row's cells filled up to the table's ``n`` columns with ""."""
    return list(cells) + [""] * (n - len(cells))


BOARD_COLUMN = ("board", "board")


def board_cells(b) -> list:
    """A board's total row (a messages.BoardTotal) after the board column: its running
    tenants, its run's status and its rate now (``edgemt fleet status``'s figure)."""
    return ["", Text("board total", style="bold"), f"run {b.run}", "", "", str(b.tenants),
            Text(b.status, style=STATE_STYLE.get(b.status, "")), _num(b.rate)]


class TenantsTable(DataTable):
    BINDINGS = [Binding("enter", "unfold", "Unfold", show=False)]

    def __init__(self, boards: bool = False, **kw):
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.boards = boards  # a board column and board rows (following a fleet DB)
        self.columns_shown = ((BOARD_COLUMN,) if boards else ()) + COLUMNS
        self.unfolded = set()
        self._keys = []
        self._compact = None
        self._groups = []  # what the last show() drew: a key redraws from it (see action_unfold)
        self._boards = ()
        self._cells = {}  # rendered cells by what they show (see _render_cell)

    # DataTable keys its cache of rendered cells by a counter that every update_cell and
    # add_row bumps, so each refresh (new figures twice a second) and each unfold drew
    # every visible cell again through Rich (~0.2 ms a cell, 180 cells: most of a
    # key's time to screen at 2,000 tenants). Here a cell's lines are kept by what they
    # depend on: its place (the lines carry it for the mouse), width, value and style
    # state, so only the cells whose value changed are drawn again.
    CELL_CACHE = 4000  # entries; the cache starts afresh past this (a screen holds ~200 cells)

    def _render_cell(self, row_index, column_index, base_style, width, cursor=False, hover=False):
        if row_index < 0 or column_index < 0:  # the header and row labels: as DataTable draws them
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value = self.get_cell_at(Coordinate(row_index, column_index))
        if isinstance(value, Text):  # not hashable: what it draws is
            value = (value.plain, str(value.style), tuple(value.spans))
        key = (row_index, column_index, value, base_style, width, cursor, hover, self._show_hover_cursor,
               self._pseudo_class_state)
        lines = self._cells.get(key)
        if lines is None:
            if len(self._cells) >= self.CELL_CACHE:
                self._cells.clear()
            lines = self._cells[key] = super()._render_cell(row_index, column_index, base_style, width, cursor,
                                                            hover)
        return lines

    def _clear_caches(self) -> None:  # a setting that changes how cells draw
        super()._clear_caches()
        self._cells.clear()

    def clear(self, columns: bool = False):
        """DataTable.clear, keeping the drawn cells unless the columns go: rows drawn again
        at the same place with the same values (a fold, an unfold) draw the same."""
        kept, self._cells = self._cells, {}
        super().clear(columns)
        if not columns:
            self._cells = kept
        return self

    def notify_style_update(self) -> None:  # a theme or focus change: every cell's style
        super().notify_style_update()
        self._cells.clear()

    def set_compact(self, compact: bool) -> None:
        if compact == self._compact:
            return
        self._compact = compact
        self.clear(columns=True)
        for label, short in self.columns_shown:
            self.add_column(short if compact else label, key=label)
        self._keys = []

    @property
    def selected_group(self):
        """The group id of the row under the cursor (a tenant row selects its group; a
        board's total row none)."""
        if not self._keys or self.cursor_row is None or self.cursor_row >= len(self._keys):
            return None
        if not self._keys[self.cursor_row].startswith("g"):
            return None
        return int(self._keys[self.cursor_row].split("-")[0][1:])

    def action_unfold(self) -> None:
        gid = self.selected_group
        if gid is not None:
            self.unfolded ^= {gid}
            # the rows of the groups as the last refresh drew them: the key's effect on
            # screen without recomputing every group's figures (15 ms at 2,000 tenants);
            # the next refresh tick (2 Hz) brings them up to date
            self.show(self._groups, self._boards)

    def show(self, groups, boards=()) -> None:
        """Draws ``groups`` (app_state.GroupRow) and, with a board column, ``boards``
        (messages.BoardTotal): each board's total row, then its groups."""
        self._groups, self._boards = groups, boards
        if not self.boards:
            rows = [row for g in groups for row in self._group_rows(g)]
        else:
            rows = []
            names = [b.board for b in boards]
            for i, b in enumerate(boards):
                rows.append((f"board-{i}", [b.board] + board_cells(b)))
                rows += self._with_board([g for g in groups if g.board == b.board])
            rows += self._with_board([g for g in groups if g.board not in names])
        self._draw(rows)

    def _with_board(self, groups) -> list:
        """The rows of ``groups`` with the board cell first (on the group's own row)."""
        out = []
        for g in groups:
            for i, (key, cells) in enumerate(self._group_rows(g)):
                out.append((key, [(g.board or "-") if i == 0 else ""] + cells))
        return out

    def _group_rows(self, g) -> list:
        """(key, cells) of a group's row and, unfolded, its tenants' rows (or its failed ones)."""
        rows = []
        cells = [g.label, g.model, g.placement, str(g.batch), g.isolation[:4], str(g.count),
                 Text(g.state, style=STATE_STYLE.get(g.state, "")), _num(g.current), _num(g.mean),
                 _num(g.p50), _num(g.p99)]
        ol = open_loop_cells(g)
        cells += ol
        if missed_slo(ol):
            cells[0] = Text(g.label, style=MISSED_STYLE)  # a group missing its SLO stands out
        rows.append((g.label, cells))
        if g.id in self.unfolded:
            for r in g.tenants[:TENANT_ROWS]:
                state = r.status if not r.error else f"failed: {r.error}"
                cur = r.windows[-1].images / (r.windows[-1].t_end - r.windows[-1].t_start) if r.windows else None
                rows.append((f"{g.label}-t{r.id}", [
                    f" t{r.id}", "", r.placement, str(r.batch), "", "",
                    Text(state[:60], style=STATE_STYLE.get(r.status, "")), _num(cur), "", "", ""]))
            more = len(g.tenants) - TENANT_ROWS
            if more > 0:
                rest = g.tenants[TENANT_ROWS:]
                failed = sum(1 for r in rest if r.status == TenantState.FAILED)
                text = f"+{more} more tenants (t{rest[0].id}-t{rest[-1].id})" + (
                    f", {failed} of them failed" if failed else "")
                rows.append((f"{g.label}-more", [
                    "", Text(text, style="red" if failed else "dim"),
                    "", "", "", "", "", "", "", "", ""]))
        else:
            for tid, reason in g.failures[:FAILED_ROWS]:
                rows.append((f"{g.label}-t{tid}", [f" t{tid}", Text(f"failed: {reason}", style="red"), "", "",
                                                    "", "", "", "", "", "", ""]))
            more = len(g.failures) - FAILED_ROWS
            if more > 0:
                rows.append((f"{g.label}-failed", [
                    "", Text(f"+{more} more failed (enter: the tenants)", style="red"),
                    "", "", "", "", "", "", "", "", ""]))
        return rows

    def _draw(self, rows) -> None:
        n = len(self.columns_shown)
        keys = [k for k, _ in rows]
        if keys != self._keys:
            selected = self._keys[self.cursor_row] if self._keys and self.cursor_row < len(self._keys) else None
            self.clear()
            for key, cells in rows:
                self.add_row(*padded(cells, n), key=key)
            self._keys = keys
            if selected in keys:
                self.move_cursor(row=keys.index(selected))
            elif selected is not None and selected.split("-")[0] in keys:
                self.move_cursor(row=keys.index(selected.split("-")[0]))
            elif keys:
                self.move_cursor(row=min(self.cursor_row, len(keys) - 1))
            return
        for key, cells in rows:
            for (label, _), value in zip(self.columns_shown, padded(cells, n)):
                if not same_cell(self.get_cell(key, label), value):
                    self.update_cell(key, label, value)
