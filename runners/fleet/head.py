"""The head's side of a fleet: the joined boards, a task on each, and driving a plan.

Boards join with ``ray start --address HEAD --resources '{"edgemt": 1, "board:NAME": 1}'``
(a custom resource per board: ``ray start --labels`` does not exist in the Ray pinned for
Python 3.8, and node labels are beta in the newer ones). ``joined_boards`` lists the live
nodes holding ``edgemt``; ``on_each_board`` runs a function on every one of them (pinned to
its node); ``run_plan`` places one ``BoardRunner`` (runners/fleet/board.py) on each board of
a plan by the board's resource, polls them and writes their rows into the fleet DB
(storage/fleet_db.py). A head started on the plan and DB of one that died picks its fleet
up (``FleetDB.unfinished``): the same fleet id, an actor attached to each board's run, and
what the fleet DB lacks copied once. Ray is imported here only, when a fleet command calls in.
"""
import json
import logging
import os
import signal
import time
import uuid
from typing import Callable, Dict, NamedTuple

from runners.errors import BadInput
from runners.fleet.board import BoardRunner
from runners.fleet.plan import Plan, check_boards
from storage.fleet_db import FleetDB

BOARD_PREFIX = "board:"
POLL_S = 0.5  # how often the head asks each board for its new rows
STOP_WAIT_S = 120.0  # Ctrl-C: how long the boards' runs get to stop and hand in their last rows
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


def joined_nodes(ray) -> Dict[str, list]:
    """{board name: [Ray node ids]} of the live nodes that joined as edgemt boards (a board
    that left and came back can be listed twice until its old node is declared dead)."""
    out = {}
    for node in ray.nodes():
        res = node.get("Resources") or {}
        if not node.get("Alive") or "edgemt" not in res:
            continue
        for key in res:
            if key.startswith(BOARD_PREFIX):
                out.setdefault(key[len(BOARD_PREFIX):], []).append(node["NodeID"])
    return out


def joined_boards(ray) -> Dict[str, str]:
    """{board name: Ray node id} of the live nodes that joined as edgemt boards."""
    return {name: ids[-1] for name, ids in joined_nodes(ray).items()}


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


# A Ray worker that exits kills its child processes (SIGKILL), and an actor exits with the
# driver that made it: a head that died would take every board's run with it. The board's
# run is the first copy and goes on without a head (a head started again picks it up).
KEEP_RUNS = {"env_vars": {"RAY_kill_child_processes_on_worker_exit": "false"}}
CLOCK_KEYS = ("clock_offset_s", "rtt_s", "launched_at", "measure_at", "measured_at")
CLOCK_ROUNDS = 5  # round trips per board; the shortest gives the offset
SYNC_MARGIN_S = 2.0  # a synchronised start is this long after the offsets are known


def clock_offset(ray, actor, rounds: int = CLOCK_ROUNDS) -> dict:
    """The board's wall clock minus the head's, from the round trip with the shortest time
    (as NTP does): {"clock_offset_s", "rtt_s"}; the offset is known to within rtt/2."""
    best = None
    for _ in range(rounds):
        t0 = time.time()
        board = ray.get(actor.clock.remote())
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, board - (t0 + t1) / 2)
    return {"clock_offset_s": round(best[1], 6), "rtt_s": round(best[0], 6)}


class BoardOutcome(NamedTuple):
    board: str
    state: str          # done | lost | stopped
    exit: object        # the board's edgemt run exit status (None when lost)
    runs: list          # its fleet run ids
    summary: str        # its edgemt run --json output
    detail: str         # why it was lost, or its last stderr lines
    clock: dict = None  # clock_offset_s, rtt_s, launched_at (the head's clock)


def run_plan(ray, plan: Plan, db, flag: str = "--db", on_rows: Callable = None, poll_s: float = POLL_S):
    """Runs ``plan`` on its boards; returns ([BoardOutcome], stopped by Ctrl-C). Every board
    of the plan must have joined: checked before anything starts or is written. A board
    whose node leaves is marked lost; with ``plan.rejoin`` > 0 the head waits that long for
    it to join again, then attaches a new actor to the run that went on there and copies
    what it lacks (its cursors make every row come once)."""
    known = joined_boards(ray)  # board -> the node it runs on
    check_boards(plan, known)
    fleet = FleetDB(db, flag=flag, plan=plan.path)
    # a head that died mid-plan: this one picks its fleet up (same fleet id, so the same
    # board DBs), attaching to the boards' runs instead of starting them again
    try:
        previous = fleet.unfinished(plan.path)
        if previous is not None:
            _check_head_gone(previous["head_pid"], plan, db)
    except BaseException:
        fleet.close()
        raise
    resumed = {}
    if previous is not None:
        fleet_id = previous["id"]
        resumed = {n: b for n, b in previous["boards"].items() if n in plan.boards}
        for name, b in resumed.items():
            fleet.resume(name, b["copied"], b["info"])
    else:
        fleet_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    fleet.fleet_id = fleet_id
    actor = ray.remote(BoardRunner)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    def place(name, node=None):
        # a board that came back: on its new node (the old one may still be listed alive)
        pin = {} if node is None else {"scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False)}
        return actor.options(num_cpus=0, resources={BOARD_PREFIX + name: 1}, max_restarts=0,
                             max_task_retries=0, runtime_env=KEEP_RUNS, **pin).remote(name, fleet_id)

    actors = {name: place(name) for name in plan.boards}
    outcomes: Dict[str, BoardOutcome] = {}
    pending = {}   # board -> the ref of its outstanding call
    last_poll = {}
    waiting = {}   # lost board -> (monotonic deadline to come back, when it was lost, why)
    last_look = 0.0
    interrupted = False
    ended = False
    clocks = {}  # board -> its clock offset, round trip and launch on the head's clock
    # Ctrl-C and SIGTERM only set a flag that the loop reads between Ray calls: an exception
    # raised inside a Ray call or a DB write could leave either half done
    stop = []
    handlers = {}
    for sig in STOP_SIGNALS:
        try:
            handlers[sig] = signal.signal(sig, lambda signum, _frame: stop.append(signum))
        except ValueError:  # not the main thread (a test, a library caller): no handler
            pass
    try:
        from ray.exceptions import RayActorError

        for name, a in actors.items():  # also waits for every actor to be placed
            if name in resumed:  # measured by the head that died; its run goes on
                clocks[name] = {k: v for k, v in resumed[name]["info"].items() if k in CLOCK_KEYS}
                clocks[name]["resumed"] = True
                continue
            try:
                clocks[name] = clock_offset(ray, a)
            except RayActorError as exc:  # the board left before its run started
                why = f"{type(exc).__name__}: " + (str(exc).splitlines() or [""])[0][:200]
                outcomes[name] = BoardOutcome(name, "lost", None, [], "", why)
                continue
            fleet.set_info(name, clocks[name])
        start_at = time.time() + SYNC_MARGIN_S if plan.sync_start else None
        # the synchronised measured phase: one instant of the head's clock, after the warm-up
        measure_at = None if start_at is None else round(start_at + plan.warmup, 6)
        for name, a in actors.items():
            if name in outcomes:
                continue
            if name in resumed:
                fleet.note(name, "head_back", {"board": name, "fleet": fleet_id, "head_pid": os.getpid()})
                pending[name] = a.attach.remote()
                continue
            offset = clocks[name]["clock_offset_s"]
            at = None if start_at is None else start_at + offset
            args = plan.boards[name].run_args()
            if measure_at is not None and plan.boards[name].command == "run":
                # the instant on the board's own clock (its offset to the head's)
                args += ["--measure-at", repr(round(measure_at + offset, 6))]
                clocks[name]["measure_at"] = measure_at
                fleet.set_info(name, clocks[name])
            pending[name] = a.start.remote(args, at)
        while len(outcomes) < len(actors):
            if stop:
                raise KeyboardInterrupt
            now = time.monotonic()
            if waiting and now - last_look >= 2.0:  # asking the GCS is cheap, but not at every turn
                last_look = now
                back = joined_nodes(ray)
                for name, (deadline, lost_at, why) in list(waiting.items()):
                    # back: listed again, and its old node declared dead (an actor placed while
                    # the old node with the same address is still listed dies with it)
                    ids = back.get(name, [])
                    new = ids if known.get(name) not in ids else []
                    if new:
                        del waiting[name]
                        known[name] = new[-1]
                        fleet.note(name, "board_back", {"board": name, "away_s": round(now - lost_at, 1)})
                        actors[name] = place(name, new[-1])
                        pending[name] = actors[name].attach.remote()
                    elif now > deadline:
                        del waiting[name]
                        outcomes[name] = BoardOutcome(name, "lost", None, fleet.board_runs(name), "", why)
            for name, a in actors.items():
                if (name not in outcomes and name not in pending and name not in waiting
                        and now - last_poll.get(name, 0) >= poll_s):
                    pending[name] = a.poll.remote(fleet.cursor(name))
                    last_poll[name] = now
            if not pending:
                time.sleep(0.05 if not waiting else poll_s)
                continue
            ready, _ = ray.wait(list(pending.values()), num_returns=1, timeout=poll_s)
            for ref in ready:
                name = next(n for n, r in pending.items() if r == ref)
                del pending[name]
                lost = _answer(ray, fleet, name, ref, outcomes, on_rows, stopping=False, keep=plan.rejoin > 0,
                               clocks=clocks)
                if lost:
                    waiting[name] = (time.monotonic() + plan.rejoin, time.monotonic(), lost)
        ended = True
    except KeyboardInterrupt:
        interrupted = True
        for name, (_d, _l, why) in waiting.items():
            outcomes[name] = BoardOutcome(name, "lost", None, fleet.board_runs(name), "", why)
        _stop_all(ray, fleet, actors, outcomes, pending, on_rows, clocks)
        ended = True
    finally:
        if ended:  # not picked up by a head started again (one that died never gets here)
            fleet.finish()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for a in actors.values():
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone with its node
                pass
        fleet.close()
    return [outcomes[n]._replace(clock=clocks.get(n)) for n in plan.boards], interrupted


def _check_head_gone(pid, plan, db) -> None:
    """Refuses to pick up a fleet whose head is still running (its ``controller_pid``)."""
    if not pid or pid == os.getpid():
        return
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        pass  # another user's process: alive
    except (OSError, ValueError):
        return  # gone: this head takes over
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            if b"fleet" not in f.read():
                return  # the pid is another program's now
    except OSError:
        pass
    raise BadInput(f"plan {plan.path}: a head (pid {pid}) is still running this plan into {db}; wait for it, or "
                   "stop it (Ctrl-C) and run the plan again to pick its boards up")


def _answer(ray, fleet, name, ref, outcomes, on_rows, stopping: bool, keep: bool = False, clocks=None,
            timeout=None):
    """Writes one board's answer. A board whose actor is gone is marked lost; with ``keep``
    it is left out of ``outcomes`` (the head waits for it) and the reason is returned."""
    from ray.exceptions import GetTimeoutError, RayActorError

    try:
        res = ray.get(ref, timeout=timeout)
    except (RayActorError, GetTimeoutError) as exc:
        reason = f"{type(exc).__name__}: " + (str(exc).splitlines() or [""])[0][:200]
        fleet.mark_lost(name, reason)
        if keep:
            return reason
        outcomes[name] = BoardOutcome(name, "lost", None, fleet.board_runs(name), "", reason)
        return None
    if "rows" not in res:  # the answer of start() or attach()
        if "launched_at" in res and clocks is not None and name in clocks:
            clocks[name]["launched_at"] = round(res["launched_at"] - clocks[name]["clock_offset_s"], 6)
            fleet.set_info(name, clocks[name])
        return None
    counts = fleet.apply(name, res["rows"], res["db"])
    if on_rows is not None:
        on_rows(name, counts, res)
    if res["exit"] is not None and not any(counts[t] for t in ("windows", "samples", "events", "results")):
        _note_measured(fleet, name, res.get("summary", ""), clocks)
        outcomes[name] = BoardOutcome(name, "stopped" if stopping else "done", res["exit"], fleet.board_runs(name),
                                      res.get("summary", ""), res.get("stderr", ""))
    return None


def _note_measured(fleet, name, summary: str, clocks) -> None:
    """Where the board's measured phase began, on the head's clock (its ``edgemt run --json``
    says ``measured_at`` on the board's clock; the offset turns it into the head's), kept in
    ``params.fleet.measured_at``."""
    if clocks is None or name not in clocks:
        return
    try:
        at = (json.loads(summary) or {}).get("measured_at") if summary.strip() else None
    except (ValueError, AttributeError):
        at = None
    if isinstance(at, (int, float)):
        clocks[name]["measured_at"] = round(at - clocks[name]["clock_offset_s"], 6)
        fleet.set_info(name, clocks[name])


def _stop_all(ray, fleet, actors, outcomes, pending, on_rows, clocks=None):
    """Ctrl-C on the head: every board's run gets its Ctrl-C, then what each wrote comes in.
    Every wait is bounded: a board that does not answer in time is marked lost."""
    running = [n for n in actors if n not in outcomes]
    stops = [actors[n].stop.remote() for n in running]  # all at once: each waits for its run
    try:
        ray.wait(stops, num_returns=len(stops), timeout=STOP_WAIT_S)
    except Exception:  # noqa: BLE001 - a board that cannot be reached is lost, below
        pass
    deadline = time.monotonic() + STOP_WAIT_S
    for n in running:
        if n in pending:
            ray.wait([pending.pop(n)], timeout=max(0.1, deadline - time.monotonic()))
        while n not in outcomes:  # drain: until a poll after the run's exit brings nothing new
            left = deadline - time.monotonic()
            if left <= 0:
                why = f"did not stop and hand in its rows within {STOP_WAIT_S:g} s of the Ctrl-C"
                fleet.mark_lost(n, why)
                outcomes[n] = BoardOutcome(n, "lost", None, fleet.board_runs(n), "", why)
                break
            _answer(ray, fleet, n, actors[n].poll.remote(fleet.cursor(n)), outcomes, on_rows, stopping=True,
                    clocks=clocks, timeout=left)
            if n not in outcomes:
                time.sleep(0.2)
