"""The head's side of a fleet: the joined boards, a task on each, and driving a plan.

Boards join with ``ray start --address HEAD --resources '{"edgemt": 1, "board:NAME": 1}'``
(a custom resource per board: ``ray start --labels`` does not exist in the Ray pinned for
Python 3.8, and node labels are beta in the newer ones). ``joined_boards`` lists the live
nodes holding ``edgemt``; ``on_each_board`` runs a function on every one of them (pinned to
its node); ``run_plan`` places one ``BoardRunner`` (runners/fleet/board.py) on each board of
a plan by the board's resource, polls them and writes their rows into the fleet DB
(storage/fleet_db.py). Ray is imported here only, when a fleet command calls in.
"""
import logging
import os
import time
import uuid
from typing import Callable, Dict, NamedTuple

from runners.errors import BadInput
from runners.fleet.board import BoardRunner
from runners.fleet.plan import Plan, check_boards
from storage.fleet_db import FleetDB

BOARD_PREFIX = "board:"
POLL_S = 0.5  # how often the head asks each board for its new rows


def connect(address: str = None):
    """Ray, connected to the cluster at ``address`` (None: RAY_ADDRESS or the local one)."""
    try:
        import ray
    except ImportError:
        raise BadInput("edgemt fleet needs Ray: pip install 'edgemt[fleet]'") from None
    # Ray stops hiding GPUs from tasks that ask for none (Jetsons): what the next Ray does anyway
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    if not ray.is_initialized():
        try:
            ray.init(address=address or "auto", logging_level=logging.ERROR, log_to_driver=False,
                     configure_logging=False)
        except ConnectionError as exc:
            raise BadInput(f"--address {address or 'auto'}: no Ray cluster there ({exc}); start one with "
                           "ray start --head, and the boards with ray start --address HEAD") from None
    return ray


def joined_boards(ray) -> Dict[str, str]:
    """{board name: Ray node id} of the live nodes that joined as edgemt boards."""
    out = {}
    for node in ray.nodes():
        res = node.get("Resources") or {}
        if not node.get("Alive") or "edgemt" not in res:
            continue
        for key in res:
            if key.startswith(BOARD_PREFIX):
                out[key[len(BOARD_PREFIX):]] = node["NodeID"]
    return out


def on_each_board(ray, fn: Callable, timeout_s: float = 300.0) -> Dict[str, object]:
    """{board: fn()} run on each joined board's node (a task of no CPU, pinned to the node);
    a board whose task fails gives {"error": text}."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    task = ray.remote(fn)
    refs = {name: task.options(num_cpus=0, max_retries=0,
                               scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
            for name, node in joined_boards(ray).items()}
    out = {}
    for name, ref in sorted(refs.items()):
        try:
            out[name] = ray.get(ref, timeout=timeout_s)
        except Exception as exc:  # noqa: BLE001 - one board's failure is its row, not the command's
            out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return out


class BoardOutcome(NamedTuple):
    board: str
    state: str          # done | lost | stopped
    exit: object        # the board's edgemt run exit status (None when lost)
    runs: list          # its fleet run ids
    summary: str        # its edgemt run --json output
    detail: str         # why it was lost, or its last stderr lines


def run_plan(ray, plan: Plan, db, flag: str = "--db", on_rows: Callable = None, poll_s: float = POLL_S):
    """Runs ``plan`` on its boards; returns ([BoardOutcome], stopped by Ctrl-C). Every board
    of the plan must have joined: checked before anything starts or is written."""
    check_boards(plan, joined_boards(ray))
    fleet = FleetDB(db, flag=flag, plan=plan.path)
    fleet_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    actor = ray.remote(BoardRunner)
    actors = {name: actor.options(num_cpus=0, resources={BOARD_PREFIX + name: 1}, max_restarts=0,
                                  max_task_retries=0).remote(name, fleet_id)
              for name in plan.boards}
    outcomes: Dict[str, BoardOutcome] = {}
    pending = {}   # board -> the ref of its outstanding call
    last_poll = {}
    interrupted = False
    try:
        for name, a in actors.items():
            pending[name] = a.start.remote(plan.boards[name].run_args())
        while len(outcomes) < len(actors):
            now = time.monotonic()
            for name, a in actors.items():
                if name not in outcomes and name not in pending and now - last_poll.get(name, 0) >= poll_s:
                    pending[name] = a.poll.remote(fleet.cursor(name))
                    last_poll[name] = now
            if not pending:
                time.sleep(0.05)
                continue
            ready, _ = ray.wait(list(pending.values()), num_returns=1, timeout=poll_s)
            for ref in ready:
                name = next(n for n, r in pending.items() if r == ref)
                del pending[name]
                _answer(ray, fleet, name, ref, outcomes, on_rows, stopping=False)
    except KeyboardInterrupt:
        interrupted = True
        _stop_all(ray, fleet, actors, outcomes, pending, on_rows)
    finally:
        for a in actors.values():
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone with its node
                pass
        fleet.close()
    return [outcomes[n] for n in plan.boards], interrupted


def _answer(ray, fleet, name, ref, outcomes, on_rows, stopping: bool):
    from ray.exceptions import GetTimeoutError, RayActorError

    try:
        res = ray.get(ref)
    except (RayActorError, GetTimeoutError) as exc:
        reason = f"{type(exc).__name__}: " + (str(exc).splitlines() or [""])[0][:200]
        runs = fleet.mark_lost(name, reason) or fleet.board_runs(name)
        outcomes[name] = BoardOutcome(name, "lost", None, runs, "", reason)
        return
    if "rows" not in res:  # the answer of start()
        return
    counts = fleet.apply(name, res["rows"], res["db"])
    if on_rows is not None:
        on_rows(name, counts, res)
    if res["exit"] is not None and not any(counts[t] for t in ("windows", "samples", "events", "results")):
        outcomes[name] = BoardOutcome(name, "stopped" if stopping else "done", res["exit"], fleet.board_runs(name),
                                      res.get("summary", ""), res.get("stderr", ""))


def _stop_all(ray, fleet, actors, outcomes, pending, on_rows):
    """Ctrl-C on the head: every board's run gets its Ctrl-C, then what each wrote comes in."""
    running = [n for n in actors if n not in outcomes]
    stops = {n: actors[n].stop.remote() for n in running}
    for n, ref in stops.items():
        try:
            ray.get(ref, timeout=120)
        except Exception:  # noqa: BLE001 - a board that cannot be reached is lost, below
            pass
    for n in running:
        if n in pending:
            try:
                ray.get(pending.pop(n), timeout=60)
            except Exception:  # noqa: BLE001
                pass
        for _ in range(200):  # drain: until a poll after the exit brings nothing new
            if n in outcomes:
                break
            _answer(ray, fleet, n, actors[n].poll.remote(fleet.cursor(n)), outcomes, on_rows, stopping=True)
