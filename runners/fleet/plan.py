"""A fleet plan (TOML): which boards, and what ``edgemt run`` each one does.

```toml
duration = 3            # seconds measured on every board (a board may say its own)
window = 1.0            # optional: the window of every board's run
rejoin = 60             # optional: seconds to wait for a board that left to come back
sync_start = true       # optional: every board's run starts at one instant (clock offsets measured)
warmup = 30             # optional, with sync_start: seconds from that start to every board's measured phase
[boards.jetson1]
tenants = ["mobilenet_v2,framework=tflite,threads=1"]
[boards.pi4]
tenants = ["mobilenet_v2,framework=tflite", "resnet18"]
duration = 5
[boards."with:edgetpu"]  # every joined board with an EdgeTPU (or cuda, a framework, ...)
tenants = ["mobilenet_v2,framework=tflite,resource=edgetpu"]
[boards.nano]
command = "sweep batch"  # run (the default), sweep batch|concurrency, dmp, tune, capacity
tenants = ["resnet18"]
args = ["--batches", "1,2,4"]  # the command's other options
```

Everything is checked here, before any board starts: unknown keys, numbers out of their
range (runners/limits.py), SPECs (runners/spec.py), a window longer than the duration; the
other options of a command are checked against its parser by the CLI (tui/fleet_cli.py). The
board names are checked against the joined boards by the head (runners/fleet/head.py).
Each problem is one ``BadInput`` that names the plan file and the board.
"""
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

from runners import limits
from runners.config import tomllib  # the stdlib's, or tomli on Python < 3.11
from runners.errors import BadInput
from runners.spec import check_total, parse_spec

PLAN_KEYS = ("duration", "window", "rejoin", "sync_start", "warmup", "boards")
WARMUP_DEFAULT_S = 30.0  # load and warm-up of a board's tenants before the synchronised measured phase
# how long the head waits for a board that left to come back (0: it is lost at once)
REJOIN_S = (0.0, 3600.0, "seconds")
BOARD_KEYS = ("tenants", "duration", "window", "command", "args")
# what a board may run: the edgemt commands that measure into a DB (docs/cli.md)
COMMANDS = ("run", "sweep batch", "sweep concurrency", "dmp", "tune", "capacity")
# set by the fleet itself (the board's DB, JSON out) or meaningless on a fresh board DB
RESERVED_ARGS = ("--db", "--json", "--resume")
# a board's name is a Ray custom resource ("board:NAME") and a file name on the head
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class BoardRun(NamedTuple):
    """What one board runs: an edgemt command (``run`` unless the plan says) and its arguments."""
    board: str
    tenants: List[str]
    duration: Optional[float]
    window: Optional[float]
    command: str = "run"
    args: List[str] = []

    def run_args(self) -> List[str]:
        """The command line after ``edgemt`` (the board adds ``--db`` and ``--json``)."""
        args = self.command.split()
        for t in self.tenants:
            args += ["--tenant", t]
        if self.duration is not None:
            args += ["--duration", repr(self.duration)]
        if self.window is not None:
            args += ["--window", repr(self.window)]
        return args + list(self.args)


class Plan(NamedTuple):
    path: str
    boards: Dict[str, BoardRun]
    rejoin: float = 0.0  # seconds the head waits for a lost board to join again
    sync_start: bool = False  # every board's run starts at one instant of the head's clock
    # with sync_start: seconds from that instant to every board's measured phase (edgemt run --measure-at)
    warmup: float = WARMUP_DEFAULT_S


SELECTOR = "with:"  # [boards."with:edgetpu"]: every joined board whose fingerprint has it


def check_board_name(name: str, where: str) -> str:
    if name.startswith(SELECTOR):
        check_board_name(name[len(SELECTOR):], where)
        return name
    if not name or not set(name) <= NAME_CHARS or len(name) > 64:
        raise BadInput(f"{where}: board name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    return name


def _number(value, rng, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where}: {key} must be a number of {rng[2]}, not {type(value).__name__} {value!r}")
    try:
        return limits.real(value, *rng)
    except ValueError as exc:
        raise BadInput(f"{where}: {key} {exc}") from None


def _board(path: str, name: str, raw, duration, window) -> BoardRun:
    where = f"plan {path}, board {name!r}"
    check_board_name(name, f"plan {path}")
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: must be a table ([boards.{name}]) with tenants = [SPEC, ...]")
    for key in raw:
        if key not in BOARD_KEYS:
            raise BadInput(f"{where}: unknown key {key!r}; a board takes {', '.join(BOARD_KEYS)}")
    tenants = raw.get("tenants")
    if not isinstance(tenants, list) or not tenants or not all(isinstance(t, str) for t in tenants):
        raise BadInput(f"{where}: tenants must be a list of one or more SPEC strings, "
                       "e.g. tenants = [\"mobilenet_v2,framework=tflite\"]")
    specs = []
    for text in tenants:
        try:
            specs.append(parse_spec(text))
        except BadInput as exc:
            raise BadInput(f"{where}: tenant {text!r}: {exc}") from None
    try:
        check_total(specs)
    except BadInput as exc:
        raise BadInput(f"{where}: {exc}") from None
    if "duration" in raw:
        duration = _number(raw["duration"], limits.DURATION_S, where, "duration")
    if "window" in raw:
        window = _number(raw["window"], limits.WINDOW_S, where, "window")
    command = raw.get("command", "run")
    if command not in COMMANDS:
        raise BadInput(f"{where}: command {command!r} is not one a board runs; give one of {', '.join(COMMANDS)}")
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadInput(f"{where}: args must be a list of strings, e.g. args = [\"--batches\", \"1,2,4\"]")
    for a in args:
        if a.split("=", 1)[0] in RESERVED_ARGS:
            raise BadInput(f"{where}: args may not hold {a.split('=', 1)[0]}: the fleet sets the board's DB and "
                           "reads its JSON")
    if duration is None and command == "run":
        raise BadInput(f"{where}: no duration; give duration = SECONDS for the plan or the board")
    if window is not None and duration is not None and window > duration:
        raise BadInput(f"{where}: window {window:g} s is longer than duration {duration:g} s; a measurement "
                       f"is whole windows: give a window of at most {duration:g} s")
    return BoardRun(name, list(tenants), duration, window, command, list(args))


def parse_plan(text: str, path: str = "PLAN") -> Plan:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"plan {path} is not valid TOML: {exc}") from None
    for key in raw:
        if key not in PLAN_KEYS:
            raise BadInput(f"plan {path}: unknown key {key!r}; a plan takes {', '.join(PLAN_KEYS)}")
    duration = _number(raw["duration"], limits.DURATION_S, f"plan {path}", "duration") if "duration" in raw else None
    window = _number(raw["window"], limits.WINDOW_S, f"plan {path}", "window") if "window" in raw else None
    boards = raw.get("boards")
    if not isinstance(boards, dict) or not boards:
        raise BadInput(f"plan {path} names no board; add a [boards.NAME] table with tenants = [SPEC, ...]")
    rejoin = _number(raw["rejoin"], REJOIN_S, f"plan {path}", "rejoin") if "rejoin" in raw else 0.0
    sync = raw.get("sync_start", False)
    if not isinstance(sync, bool):
        raise BadInput(f"plan {path}: sync_start must be true or false, not {sync!r}")
    warmup = WARMUP_DEFAULT_S
    if "warmup" in raw:
        if not sync:
            raise BadInput(f"plan {path}: warmup is the time before the synchronised measured phase; it needs "
                           "sync_start = true")
        warmup = _number(raw["warmup"], limits.WARMUP_S, f"plan {path}", "warmup")
    return Plan(path, {name: _board(path, name, b, duration, window) for name, b in boards.items()}, rejoin, sync,
                warmup)


def load_plan(path) -> Plan:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise BadInput(f"plan {path} does not exist; give a plan file (TOML, docs/cli.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"plan {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_plan(text, str(path))


def selectors(plan: Plan) -> List[str]:
    return [name for name in plan.boards if name.startswith(SELECTOR)]


def has(fingerprint: dict, what: str) -> bool:
    """Whether a board's fingerprint ({"resources": [...], "frameworks": [...]}) has ``what``:
    a resource (``edgetpu`` matches ``edgetpu:usb:0``, ``cuda`` matches ``cuda:0``) or a
    framework that imports there."""
    res = fingerprint.get("resources") or []
    return (any(r == what or r.startswith(what + ":") for r in res)
            or what in (fingerprint.get("frameworks") or []))


def expand(plan: Plan, fingerprints: Dict[str, dict]) -> Plan:
    """The plan with each ``with:WHAT`` table run on every joined board that has WHAT
    (``fingerprints``: board -> {"resources", "frameworks"}); a board named by its own
    table keeps that one. A selector no board matches is bad input, naming it."""
    boards = {n: b for n, b in plan.boards.items() if not n.startswith(SELECTOR)}
    for sel in selectors(plan):
        what = sel[len(SELECTOR):]
        match = sorted(n for n, fp in fingerprints.items() if has(fp, what))
        if not match:
            have = "; ".join(f"{n}: {', '.join((fp.get('resources') or []) + (fp.get('frameworks') or []))}"
                             for n, fp in sorted(fingerprints.items())) or "none joined"
            raise BadInput(f"plan {plan.path}, board {sel!r}: no joined board has {what} ({have})")
        for n in match:
            boards.setdefault(n, plan.boards[sel]._replace(board=n))
    return plan._replace(boards=boards)


def check_boards(plan: Plan, joined) -> None:
    """Every board of the plan has joined the cluster (``joined``: names)."""
    joined = set(joined)
    for name in plan.boards:
        if name not in joined:
            have = ", ".join(sorted(joined)) or "none"
            raise BadInput(f"plan {plan.path}: board {name!r} has not joined the fleet (joined: {have}); "
                           f"start it with: ray start --address HEAD --resources '{{\"edgemt\": 1, \"board:{name}\": 1}}'")
