"""What the UI shows, as plain data: tenants, groups, throughput series, resources, events.

Fed only by the messages of ``tui.messages`` (live from the supervisor and the sampler,
or replayed from the DB) and read by the widgets on the refresh timer. Every update is
O(1) per message and every read is bounded (the last ``KEEP`` windows of a tenant, the
last ``SERIES`` slots of the chart), so 32 tenants cost the UI about what 1 does.
"""
import collections
from dataclasses import dataclass, field

from storage import queries
from storage.aggregate import Window
from runners.child import latency
from runners.tenant_state import ACTIVE, TenantState

KEEP = 30  # windows per tenant used for the "mean" column
SERIES = 600  # chart slots kept
HISTORY = 60  # resource samples kept per metric (sparklines)
MARK_KINDS = ("added", "stepped", "moved", "failed", "removed", "batch_changed", "rate_changed")


QUERY_SUMS = ("scheduled", "completed", "dropped", "within")


def _no_queries() -> dict:
    return dict(scheduled=0, completed=0, dropped=0, within=0, qhist={})


def _sum_queries(tot: dict, q: dict, sign: int) -> None:
    for k in QUERY_SUMS:
        tot[k] += sign * (q.get(k) or 0)
    h = tot["qhist"]
    for b, n in (q.get("qhist") or {}).items():
        v = h.get(b, 0) + sign * n
        if v:
            h[b] = v
        else:
            h.pop(b, None)


@dataclass
class TenantRec:
    id: int
    group: int
    model: str
    framework: str
    resource: str
    batch: int
    isolation: str
    threads: object
    status: str
    error: object = None
    moved_from: object = None
    windows: collections.deque = field(default_factory=lambda: collections.deque(maxlen=KEEP))
    hist: dict = field(default_factory=dict)
    images: int = 0
    rate: object = None  # open loop: queries a second (None: closed loop); its SLO
    slo_ms: object = None
    slo_pct: object = None
    win_images: int = 0  # images of ``windows`` (kept as they come and go: level_throughput_of)
    # open loop: the last KEEP windows' (t_start, t_end, queries) since the rate last changed,
    # and their counts and latency histogram added up as they come and go (open_loop_figures:
    # a group of 2,000 open-loop tenants costs a refresh 2,000 small sums, not 60,000 windows)
    qwin: collections.deque = field(default_factory=lambda: collections.deque(maxlen=KEEP))
    qtot: dict = field(default_factory=lambda: _no_queries())
    board: object = None  # following a fleet DB: the tenant's board

    @property
    def placement(self) -> str:
        return f"{self.framework}@{self.resource}"

    def add_queries(self, t_start: float, t_end: float, q: dict) -> None:
        """One open-loop window's queries (storage/queries.py's dict) into ``qwin``/``qtot``."""
        if len(self.qwin) == KEEP:
            _sum_queries(self.qtot, self.qwin[0][2], -1)
        self.qwin.append((t_start, t_end, q))
        _sum_queries(self.qtot, q, 1)

    def reset_queries(self) -> None:
        self.qwin.clear()
        self.qtot = _no_queries()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class GroupRow:
    id: int
    model: str
    placement: str
    batch: int
    isolation: str
    count: int
    state: str
    current: float
    mean: float
    p50: object
    p99: object
    tenants: list  # TenantRec, oldest first
    failures: list  # (tenant id, reason)
    board: object = None  # following a fleet DB: the group's board

    @property
    def label(self) -> str:
        return f"g{self.id}"


def unit_of(name: str) -> str:
    """The unit of a metric recorded without one (replay rows), from its name's suffix."""
    for suffix, unit in (("_percent", "%"), ("_mb", "MB"), ("_bytes_s", "B/s"), ("_c", "°C"), ("_w", "W"),
                         ("_mhz", "MHz")):
        if name.endswith(suffix):
            return unit
    return ""


@dataclass
class OpenLoopFigures:
    """An open-loop group's figures over its active tenants' recent windows (the UI's
    ``rate``, ``good/s`` and ``slo`` cells), as docs/experiments.md ("Open loop") defines
    them and storage/queries.py computes them for ``--json`` and the CSV."""
    rate: float  # queries a second per tenant (the SPEC's rate=)
    offered: object  # queries scheduled a second, the group's
    goodput: object  # queries within the SLO a second, the group's; None without an SLO
    attainment: object
    latency_ms: object  # the query latency at the SLO's percentile (p99 without an SLO)
    slo_ms: object
    slo_pct: float
    met: object  # True / False / None (no SLO, or nothing ended yet)


def open_loop_figures(recs):
    """``OpenLoopFigures`` of a group's tenants (TenantRec), or None when none of its active
    tenants runs open-loop (a stopped group: its stopped tenants, as its other figures).
    Over each tenant's last KEEP open-loop windows since its rate last changed; the span is
    theirs (first start to last end)."""
    pool = [r for r in recs if r.active] or [r for r in recs if r.status == TenantState.STOPPED]
    live = [r for r in pool if r.rate is not None]
    if not live:
        return None
    ref = live[-1]
    pct = ref.slo_pct or 99.0
    counted = [r for r in live if r.qwin]
    if not counted:
        return OpenLoopFigures(ref.rate, None, None, None, None, ref.slo_ms, pct, None)
    # storage.queries.totals of every window of ``qwin``, from the running sums
    seconds = max(r.qwin[-1][1] for r in counted) - min(r.qwin[0][0] for r in counted)
    tot = {k: sum(r.qtot[k] for r in counted) for k in QUERY_SUMS}
    tot["qhist"] = {}
    for r in counted:
        latency.merge(tot["qhist"], r.qtot["qhist"])
    within = tot["within"] if ref.slo_ms is not None else None
    att = queries.attainment(within, tot["completed"], tot["dropped"])
    lat = latency.percentile(tot["qhist"], pct)
    return OpenLoopFigures(ref.rate, tot["scheduled"] / seconds if seconds > 0 else None,
                           queries.goodput(within, seconds), att, None if lat is None else lat * 1000.0,
                           ref.slo_ms, pct, queries.slo_met(att, pct) if ref.slo_ms is not None else None)


def level_throughput_of(recs, eps: float = 1e-6) -> float:
    """``storage.aggregate.level_throughput`` of the tenants' recent windows (those with
    any), the same figure in O(1) a tenant instead of O(windows): a TenantRec's windows
    come in time order and it keeps their image sum, so the images inside the common span
    are that sum less the few windows sticking out at either end. At 2,000 tenants the
    plain sum over every window took most of a refresh (issue 13)."""
    recs = [r for r in recs if r.windows]
    if not recs:
        return 0.0
    start = max(r.windows[0].t_start for r in recs)
    end = min(r.windows[-1].t_end for r in recs)
    if end - start <= eps:
        return 0.0
    lo, hi = start - eps, end + eps
    images = 0
    for r in recs:
        ws = r.windows
        n = len(ws)
        i, j = 0, n
        out = 0
        while i < n and ws[i].t_start < lo:
            out += ws[i].images
            i += 1
        while j > i and ws[j - 1].t_end > hi:
            out += ws[j - 1].images
            j -= 1
        images += r.win_images - out
    return images / (end - start)


class RunState:
    """The UI's model of one run."""

    def __init__(self, info: dict = None):
        self.info = dict(info or {})  # header facts: host, cpu, cores, memory, gpus, edgetpus, db, run id
        self.t = 0.0
        self.tenants = {}
        self.by_group = {}  # group id -> its TenantRecs, oldest first (2,000 tenants: no scans)
        self.group_ids = []  # in order of appearance
        self.removed = set()
        self.slots = collections.OrderedDict()  # (t_start, t_end) -> {placement: img/s}
        self.marks = collections.deque(maxlen=200)  # (t, kind)
        self.metrics = {}  # name -> (value, unit, reason)
        self.history = {}  # name -> deque of values
        self.events = collections.deque(maxlen=500)
        self.version = 0  # bumped on every change; widgets redraw only when it moved
        self.boards = []  # following a fleet DB: messages.BoardTotal of each board

    # -- updates (one per message) -------------------------------------------------------
    def on_tenant(self, m) -> None:
        rec = self.tenants.get(m.id)
        if rec is None:
            rec = TenantRec(m.id, m.group, m.model, m.framework, m.resource, m.batch, m.isolation, m.threads,
                            m.status, m.error, m.moved_from)
            self.tenants[m.id] = rec
            rec.rate, rec.slo_ms, rec.slo_pct = getattr(m, "rate", None), getattr(m, "slo_ms", None), getattr(m, "slo_pct", None)
            rec.board = getattr(m, "board", None)
            self.by_group.setdefault(m.group, []).append(rec)
            if m.group not in self.group_ids:
                self.group_ids.append(m.group)
        else:
            rec.framework, rec.resource, rec.batch, rec.status = m.framework, m.resource, m.batch, m.status
            rec.error = m.error
            rec.rate, rec.slo_ms, rec.slo_pct = getattr(m, "rate", None), getattr(m, "slo_ms", None), getattr(m, "slo_pct", None)
        self.version += 1

    def on_window(self, m) -> None:
        rec = self.tenants.get(m.tenant)
        if rec is None:
            return
        if len(rec.windows) == KEEP:
            rec.win_images -= rec.windows[0].images
        q = getattr(m, "queries", None)
        rec.windows.append(Window(m.t_start, m.t_end, m.images, m.batches, queries=q))
        if q is not None:
            rec.add_queries(m.t_start, m.t_end, q)
        rec.win_images += m.images
        rec.images += m.images
        rec.batch = m.batch or rec.batch
        if rec.status == TenantState.STARTING:
            rec.status = TenantState.RUNNING
        latency.merge(rec.hist, m.hist or {})
        key = (round(m.t_start, 3), round(m.t_end, 3))
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = {}
            while len(self.slots) > SERIES:
                self.slots.popitem(last=False)
        span = m.t_end - m.t_start
        if span > 0:
            slot[rec.placement] = slot.get(rec.placement, 0.0) + m.images / span
        self.t = max(self.t, m.t_end)
        self.version += 1

    def on_event(self, m) -> None:
        d = m.detail or {}
        gid = d.get("group")
        if m.kind in MARK_KINDS:
            self.marks.append((m.t, m.kind))
        if m.kind == "removed" and gid is not None:
            self.removed.add(gid)
        elif m.kind == "added" and gid is not None:
            self.removed.discard(gid)
            if gid not in self.group_ids:
                self.group_ids.append(gid)
        elif m.kind == "batch_changed" and gid is not None:
            for rec in self._group_tenants(gid):
                if rec.active:
                    rec.batch = d.get("to", rec.batch)
        elif m.kind == "rate_changed" and gid is not None:  # r: the group's open loop (replay: when it was)
            for rec in self._group_tenants(gid):
                if rec.active:
                    rec.rate, rec.slo_ms, rec.slo_pct = d.get("to"), d.get("slo_ms"), d.get("slo_pct")
                    rec.reset_queries()  # the figures are of the new rate's windows
        elif m.kind in ("paused", "resumed") and gid is not None:
            for rec in self._group_tenants(gid):
                if rec.status in (TenantState.RUNNING, TenantState.PAUSED):
                    rec.status = TenantState.PAUSED if m.kind == "paused" else TenantState.RUNNING
        self.events.append((m.t, m.kind, m.tenant, d))
        self.t = max(self.t, m.t)
        self.version += 1

    def on_sample(self, m) -> None:
        for name, (value, unit, reason) in m.metrics.items():
            self.metrics[name] = (value, unit, reason)
            h = self.history.get(name)
            if h is None:
                h = self.history[name] = collections.deque(maxlen=HISTORY)
            h.append(value)
        self.version += 1

    def on_boards(self, boards: list) -> None:
        if boards != self.boards:
            self.boards = list(boards)
            self.version += 1

    def on_clock(self, t: float) -> None:
        if t != self.t:
            self.t = t
            self.version += 1

    # -- reads (by the widgets) -------------------------------------------------------------
    def _group_tenants(self, gid: int) -> list:
        return self.by_group.get(gid, [])

    def groups(self) -> list:
        rows = []
        for gid in self.group_ids:
            ts = self._group_tenants(gid)
            if not ts:
                continue
            newest = ts[-1]
            active = [r for r in ts if r.active]
            failed = [r for r in ts if r.status == TenantState.FAILED]
            if gid in self.removed and not active:
                state = "removed"  # a group state, not a tenant's: its tenants were stopped by `-`
            elif not active:
                state = TenantState.FAILED if failed and failed[-1] is newest else TenantState.STOPPED
            elif any(r.status == TenantState.STARTING for r in active):
                state = TenantState.STARTING
            elif all(r.status == TenantState.PAUSED for r in active):
                state = TenantState.PAUSED
            else:
                state = TenantState.RUNNING
            ref = active[-1] if active else newest
            current = 0.0
            last_end = max((r.windows[-1].t_end for r in active if r.windows), default=None)
            if last_end is not None:
                for r in active:
                    if r.windows and abs(r.windows[-1].t_end - last_end) < 1e-3:
                        w = r.windows[-1]
                        current += w.images / (w.t_end - w.t_start)
            # a stopped group keeps showing what it did (its tenants' last windows)
            mean = level_throughput_of(active or [r for r in ts if r.status == TenantState.STOPPED])
            hist = {}
            for r in active or ts:
                latency.merge(hist, r.hist)
            p50, p99 = latency.percentile(hist, 50), latency.percentile(hist, 99)
            rows.append(GroupRow(
                gid, ref.model, ref.placement, ref.batch, ref.isolation, len(active), state, current, mean,
                None if p50 is None else p50 * 1000, None if p99 is None else p99 * 1000, ts,
                [(r.id, r.error) for r in failed], ref.board,
            ))
        return rows

    def series(self, last: int = 120):
        """(xs, {"total": ys, placement: ys, ...}) over the last ``last`` slots."""
        slots = list(self.slots.items())[-last:]
        xs = [k[1] for k, _ in slots]
        names = sorted({p for _, v in slots for p in v})
        out = {"total": [sum(v.values()) for _, v in slots]}
        for p in names:
            out[p] = [v.get(p, 0.0) for _, v in slots]
        return xs, out

    def total_now(self) -> float:
        if not self.slots:
            return 0.0
        return sum(next(reversed(self.slots.values())).values())
