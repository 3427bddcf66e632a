"""Recorded runs as the UI's messages: ``edgemt replay RUN`` and following a live run.

A ``Recording`` reads one run's tenants, windows, samples and events (read-only) and turns
them into the same messages the supervisor and the sampler produce live, stamped with the
run's clock, so the replayed UI is the live UI. ``Follower`` reads the rows a running
controller keeps adding (by row id), for watching a run started elsewhere.
"""
import json

from storage import reads, schema
from tui import messages as msg
from tui.app_state import unit_of

SAMPLE_SKIP = ("id", "run", "t")


def host_info(run: dict, db) -> dict:
    """Header facts from a run row's host fingerprint."""
    try:
        host = json.loads(run.get("host") or "{}")
    except ValueError:
        host = {}
    mem = host.get("mem_total_mb")
    return {
        "host": host.get("board_model") or host.get("hostname") or "?",
        "cpu": host.get("cpu_model") or host.get("machine") or "?",
        "cores": host.get("cpu_cores") or "?",
        "memory": f"{mem / 1024:.1f} GB" if mem else "?",
        "gpus": ", ".join(host.get("gpus") or []) if isinstance(host.get("gpus"), list) else host.get("gpus"),
        "edgetpus": ", ".join(host.get("edgetpus") or []) if isinstance(host.get("edgetpus"), list) else None,
        "db": str(db), "run_id": run["id"],
    }


def _open_loop_of(row: dict) -> tuple:
    """(rate, slo_ms, slo_pct) of a tenant row's SPEC: the last recorded (a rate set with
    ``r`` rewrites it)."""
    try:
        spec = json.loads(row.get("spec") or "{}") or {}
    except ValueError:
        spec = {}
    return spec.get("rate"), spec.get("slo_ms"), spec.get("slo_pct")


def _tenant_msg(row: dict, status: str, error=None, open_loop: tuple = None) -> msg.TenantChanged:
    """``open_loop``: (rate, slo_ms, slo_pct) in force at the message's time; None: the row's."""
    rate, slo_ms, slo_pct = open_loop if open_loop is not None else _open_loop_of(row)
    return msg.TenantChanged(row["id"], row["group_id"], row["model"], row["framework"], row["resource"],
                             row["batch"], row["isolation"], row["threads"], status, error, row["moved_from"],
                             rate, slo_ms, slo_pct)


class RateHistory:
    """The open-loop settings each group had over a recorded run, from its ``rate_changed``
    events (``r``, ``Supervisor.set_rate``): a tenant's row holds only the SPEC as last
    recorded, so a replay that started every tenant with it would show a later rate from
    the start."""

    def __init__(self, events=()):
        self.changes = {}  # group -> [(t, detail)], in time order
        self.add(events)

    def add(self, events) -> None:
        """Takes the ``rate_changed`` of event rows (the others are passed over)."""
        for row in events:
            if row["kind"] != "rate_changed":
                continue
            d = json.loads(row["detail"] or "{}")
            if d.get("group") is not None:
                changes = self.changes.setdefault(d["group"], [])
                changes.append((row["t"], d))
                changes.sort(key=lambda c: c[0])

    def at(self, row: dict, t: float) -> tuple:
        """(rate, slo_ms, slo_pct) of tenant ``row`` in force at ``t``."""
        changes = self.changes.get(row["group_id"])
        if not changes:
            return _open_loop_of(row)
        done = [d for ct, d in changes if ct <= t + 1e-9]
        if done:
            d = done[-1]
            return d.get("to"), d.get("slo_ms"), d.get("slo_pct")
        d = changes[0][1]  # before the first change: what it changed from
        if d.get("from") is None:
            return None, None, None  # closed loop has no SLO
        if "from_slo_ms" in d:
            return d["from"], d["from_slo_ms"], d["from_slo_pct"]
        # recorded before the event held the SLO it replaced: the row's is the best known
        _, slo_ms, slo_pct = _open_loop_of(row)
        return d["from"], slo_ms, slo_pct


def _window_msg(row: dict) -> msg.WindowDone:
    from storage.queries import from_row
    from storage.schema import WINDOW_QUERY_COLUMNS

    q = from_row([row[c] for c, _ in WINDOW_QUERY_COLUMNS]) if "scheduled" in row else None
    return msg.WindowDone(row["tenant"], row["t_start"], row["t_end"], row["images"], row["batches"], row["batch"],
                          json.loads(row["hist"] or "{}"), q)


def _event_msg(row: dict) -> msg.RunEvent:
    return msg.RunEvent(row["t"], row["kind"], row["tenant"], json.loads(row["detail"] or "{}"))


def _sample_msg(row: dict) -> msg.SampleTaken:
    metrics = {}
    for k, v in row.items():
        if k in SAMPLE_SKIP:
            continue
        metrics[k] = (v, unit_of(k), None if v is not None else "not recorded in this sample")
    return msg.SampleTaken(row["t"], metrics)


def _started(row: dict, rates: RateHistory) -> tuple:
    """(t, order, message) of a tenant's start, with the rate in force then; order 0 keeps
    it before its windows (2) and the events (1) of the same moment."""
    start = row["started"] or 0.0
    return start, 0, _tenant_msg(row, "starting", open_loop=rates.at(row, start))


def _ended(row: dict, rates: RateHistory) -> tuple:
    return row["ended"], 3, _tenant_msg(row, row["status"], row["error"], rates.at(row, row["ended"]))


class Recording:
    """One recorded run as a time-ordered list of messages."""

    def __init__(self, db, run_id: int = None):
        self.db = db
        conn = schema.connect(db, readonly=True)
        try:
            self.run = reads.resolve_run(conn, run_id)
            rid = self.run["id"]
            events = reads.events(conn, rid)
            rates = RateHistory(events)
            items = []  # (t, order, message): order keeps a tenant's start before its windows
            for row in reads.tenants(conn, rid):
                items.append(_started(row, rates))
                if row["ended"] is not None:
                    items.append(_ended(row, rates))
            for row in reads.windows(conn, rid):
                items.append((row["t_end"], 2, _window_msg(row)))
            for row in reads.samples(conn, rid):
                items.append((row["t"], 1, _sample_msg(row)))
            for row in events:
                items.append((row["t"], 1, _event_msg(row)))
        finally:
            conn.close()
        items.sort(key=lambda x: (x[0], x[1]))
        self.items = items
        self.end = max((t for t, _, _ in items), default=0.0)

    def info(self) -> dict:
        return host_info(self.run, self.db)

    def until(self, start: int, t: float):
        """(messages with time <= t from index ``start``, the next index)."""
        out = []
        i = start
        while i < len(self.items) and self.items[i][0] <= t + 1e-9:
            out.append(self.items[i][2])
            i += 1
        return out, i


class Follower:
    """New rows of a run that another controller is writing, as messages (polled)."""

    def __init__(self, db, run_id: int):
        self.db = db
        self.conn = schema.connect(db, readonly=True)
        self.run = reads.resolve_run(self.conn, run_id)
        self.last = {"windows": 0, "samples": 0, "events": 0}
        self.tenants = {}
        self.rates = RateHistory()

    def info(self) -> dict:
        return host_info(self.run, self.db)

    def status(self) -> str:
        return reads.run(self.conn, self.run["id"])["status"]

    def stop_run(self) -> str:
        """Asks the followed run's controller to stop (SIGTERM: it stops its tenants cleanly
        and flushes the DB). Returns what happened, for the user."""
        import os
        import signal

        row = reads.run(self.conn, self.run["id"])
        pid = row["controller_pid"]
        if row["status"] != "running":
            return f"run {self.run['id']} is already {row['status']}"
        try:  # the pid must still be an edgemt controller, not a process that reused the number
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ")
        except OSError:
            return f"run {self.run['id']}: its controller {pid} is gone (the next start marks it interrupted)"
        if b"edgemt" not in cmdline and b"tui.cli" not in cmdline:
            return f"run {self.run['id']}: pid {pid} is no longer its controller; nothing stopped"
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError as exc:
            return f"run {self.run['id']}: cannot signal controller {pid}: {exc}"
        return f"run {self.run['id']}: asked controller {pid} to stop"

    def poll(self) -> list:
        """The new rows as messages in time order, as Recording plays them (a follower that
        joins late gets the whole run so far in one poll): a ``rate_changed`` applies to the
        tenants running then and resets their open-loop figures, so a tenant starts with the
        rate it started with and the windows after a change come after it. A tenant still
        running ends the poll with its state now."""
        rid = self.run["id"]
        events = reads.events(self.conn, rid, after_id=self.last["events"])
        self.rates.add(events)
        timed, now = [], []  # (t, order, message), ordered as Recording's; then the state now
        for row in reads.tenants(self.conn, rid):
            key = (row["status"], row["batch"], row["error"])
            if self.tenants.get(row["id"]) == key:
                continue
            if row["id"] not in self.tenants:
                timed.append(_started(row, self.rates))
            self.tenants[row["id"]] = key
            if row["ended"] is not None:
                timed.append(_ended(row, self.rates))
            else:
                now.append(_tenant_msg(row, row["status"], row["error"]))
        for row in reads.windows(self.conn, rid, after_id=self.last["windows"]):
            self.last["windows"] = row["id"]
            timed.append((row["t_end"], 2, _window_msg(row)))
        for row in reads.samples(self.conn, rid, after_id=self.last["samples"]):
            self.last["samples"] = row["id"]
            timed.append((row["t"], 1, _sample_msg(row)))
        for row in events:
            self.last["events"] = row["id"]
            timed.append((row["t"], 1, _event_msg(row)))
        timed.sort(key=lambda x: (x[0], x[1]))
        return [m for _, _, m in timed] + now

    def close(self):
        self.conn.close()
