"""Every message that reaches the UI's widgets: the supervisor's reports, the sampler's
snapshots and replayed rows all arrive as one of these, so live and replay share one path."""
from dataclasses import dataclass, field
from typing import NamedTuple

from textual.message import Message


@dataclass
class TenantChanged(Message):
    """A tenant started, warmed up, paused, stopped or failed (its whole record)."""

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
    # open loop (docs/experiments.md): queries a second per tenant (None: closed loop), SLO
    rate: object = None
    slo_ms: object = None
    slo_pct: object = None
    board: object = None  # following a fleet DB: the board the tenant runs on


@dataclass
class WindowDone(Message):
    """One measurement window of one tenant."""

    tenant: int
    t_start: float
    t_end: float
    images: int
    batches: int
    batch: int
    hist: dict = field(default_factory=dict)
    queries: dict = None  # an open-loop tenant's query counts (storage/queries.py), None: closed loop


class WindowItem(NamedTuple):
    """One window of a ``WindowsDone`` (the fields of a WindowDone, without a Message's
    weight: 2,000 tenants send 2,000 of them a second)."""

    tenant: int
    t_start: float
    t_end: float
    images: int
    batches: int
    batch: int
    hist: dict
    queries: object = None  # an open-loop tenant's (storage.aggregate.Window.queries)


@dataclass
class WindowsDone(Message):
    """The windows the supervisor reported in one go (a runner's reporter pass): one
    message for them all, so a key pressed meanwhile waits behind one message, not
    behind one a tenant (issue 13)."""

    windows: list  # WindowItem


@dataclass
class RunEvent(Message):
    """An event of the run log (added, stepped, moved, batch_changed, failed, exported, ...)."""

    t: float
    kind: str
    tenant: object = None
    detail: dict = field(default_factory=dict)


@dataclass
class SampleTaken(Message):
    """One resource snapshot: name -> (value or None, unit, reason); t on the run's clock."""

    t: float
    metrics: dict

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SampleTaken)


@dataclass
class ClockTick(Message):
    """The run's clock moved (replay: virtual time; live: the supervisor's clock)."""

    t: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClockTick)


@dataclass
class CommandDone(Message):
    """A command on the supervisor finished: ok or with the one-line reason it failed."""

    what: str
    ok: bool
    reason: str = ""


@dataclass
class EnvironmentsFound(Message):
    """Framework environments found (framework -> its probe's hello, or a reason string)."""

    found: dict


@dataclass
class SessionReady(Message):
    """The live Session, built in a thread after the first frame, with its header facts;
    or ``error``, what building it raised."""

    session: object
    info: dict
    error: object = None


class BoardTotal(NamedTuple):
    """One board of a followed fleet DB: its run, the run's status, its tenants running and
    its rate now (``storage.fleet_db.last_window_rate``, what ``edgemt fleet status`` prints)."""

    board: str
    run: int
    status: str
    tenants: int
    rate: object  # img/s, None before a slot every tenant reported in


@dataclass
class BoardTotals(Message):
    """Every followed board's ``BoardTotal``, in the boards' order."""

    boards: list
