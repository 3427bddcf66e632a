"""Following a fleet DB (``edgemt --follow FLEET.db``): every board's run at once.

A fleet DB (storage/fleet_db.py, written by ``edgemt fleet run``) holds each board's runs
with ``params.fleet.board``. ``FleetFollower`` reads, per board, its newest fleet run as
tui/replay.py's ``Follower`` reads one run, and turns the new rows into the UI's messages
with the board on every tenant; the boards' own group ids (each board has a g1) become
one id per (run, group) for the whole fleet. Each poll ends with every board's total
(``messages.BoardTotals``): its run's status, its running tenants and its rate now, the
figure ``edgemt fleet status`` prints (``storage.fleet_db.last_window_rate`` of the last
window slot every tenant reported in, kept as the windows arrive by ``LastSlot``).
Samples are left out: each board samples its own host, and the one resources panel
cannot show several.
"""
import json

from storage import reads, schema
from storage.errors import BadInput
from storage.fleet_db import LastSlot, last_window_rate, newest_board_runs
from tui import messages as msg
from tui.replay import Follower, _tenant_msg, _window_msg

ACTIVE = ("starting", "running", "paused")


class FleetFollower(Follower):
    """New rows of every board's run in a fleet DB, as the UI's messages (polled)."""

    fleet = True  # the UI shows a board column and board totals (tui/app.py)

    def __init__(self, db, flag: str = "--follow"):
        self.db = db
        self.conn = schema.connect(db, readonly=True, flag=flag)
        try:
            boards = newest_board_runs(self.conn)
            if not boards:
                raise BadInput(f"{flag} {db} holds no fleet run; give the DB of edgemt fleet run, "
                               "or a run id to follow one run")
            # x stops "the followed run": a fleet run's controller is the head (storage/fleet_db.py)
            self.run = reads.run(self.conn, max(r for r, _ in boards.values()))
        except BaseException:
            self.conn.close()
            raise
        self.boards = list(boards)
        self.last = {}  # run id -> {"windows": last row id read, "events": ...}
        self.tenants = {}  # tenant id -> (status, batch, error) last sent
        self.groups = {}  # (run id, the board's group id) -> the fleet's group id
        self.slots = {}  # run id -> LastSlot

    def info(self) -> dict:
        return {"host": f"fleet of {len(self.boards)} boards ({', '.join(self.boards)})", "cpu": "-", "cores": "-",
                "memory": "-", "gpus": None, "edgetpus": None, "db": str(self.db), "run_id": "fleet"}

    def _group(self, run_id: int, group_id) -> int:
        key = (run_id, group_id)
        if key not in self.groups:
            self.groups[key] = len(self.groups) + 1
        return self.groups[key]

    def poll(self) -> list:
        out = []
        totals = []
        for board, (rid, status) in newest_board_runs(self.conn).items():
            if board not in self.boards:
                self.boards.append(board)
            last = self.last.setdefault(rid, {"windows": 0, "events": 0})
            slots = self.slots.setdefault(rid, LastSlot())
            active = 0
            for row in reads.tenants(self.conn, rid):
                active += row["status"] in ACTIVE
                key = (row["status"], row["batch"], row["error"])
                if self.tenants.get(row["id"]) != key:
                    self.tenants[row["id"]] = key
                    m = _tenant_msg(row, row["status"], row["error"])
                    m.group, m.board = self._group(rid, row["group_id"]), board
                    out.append(m)
            for row in reads.windows(self.conn, rid, after_id=last["windows"]):
                last["windows"] = row["id"]
                slots.add(row["tenant"], row["t_start"], row["t_end"], row["images"])
                out.append(_window_msg(row))
            for row in reads.events(self.conn, rid, after_id=last["events"]):
                last["events"] = row["id"]
                detail = json.loads(row["detail"] or "{}")
                if detail.get("group") is not None:  # the fleet's group id, as on the tenants
                    detail["group"] = self._group(rid, detail["group"])
                detail.setdefault("board", board)
                out.append(msg.RunEvent(row["t"], row["kind"], row["tenant"], detail))
            totals.append(msg.BoardTotal(board, rid, status, active, last_window_rate(slots.last())))
        out.append(msg.BoardTotals(totals))
        return out
