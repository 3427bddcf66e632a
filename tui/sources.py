"""Where the UI's run comes from: the app's mode as an object (live, replay, follow, empty).

A source feeds the app's messages (``tui.messages``) from its origin: the live Session's
Supervisor and sampler, a recorded run played on a virtual clock, or the rows another
controller is writing, polled. It also says what the app needs to know about the mode:
its name (the header shows it), the keys it offers on the key bar, whether the run can be
steered (only live), the header facts known before it starts, and what ``x`` (stop the
followed run) and quitting do to it. The app (tui/app.py) asks its source instead of
testing the mode in each method; the live run's lifecycle stays the app's and the
Session's (tui/session.py).
"""
import asyncio
import socket

from tui import messages as msg

# the bindings each mode offers on the key bar (tui/widgets/keybar.py); None: every binding
# marked show=True. A follower is read-only but can ask the run's own controller to stop
# (x); a replay only looks back.
LIVE_KEYS = None
FOLLOW_KEYS = ("export", "stop_followed", "theme", "help", "quit")
REPLAY_KEYS = ("export", "theme", "help", "quit")
EMPTY_KEYS = ("theme", "help", "quit")


class Source:
    """No run at all (the app opened on nothing): nothing to feed, only theme, help and quit."""

    mode = "empty"
    keys = EMPTY_KEYS
    live = False  # whether the commands (add, step, move, ...) may act on the run
    boards = False  # whether the tenants table has a board column (a fleet DB)

    def info(self) -> dict:
        """Header facts known before the source starts."""
        return {"frameworks": "-"}

    def start(self, app) -> None:
        """Begins feeding ``app`` messages (called once the app is mounted)."""

    def on_clock(self, app, t: float) -> None:
        """The app's clock moved to ``t`` (a ClockTick the source posted)."""

    def stop_followed(self):
        """What ``x`` did, for the user; None where the mode has no run of another controller."""
        return None

    def close(self) -> None:
        """The app is quitting: lets go of what the source holds (read connections)."""


class LiveSource(Source):
    """This process's run: the Session's Supervisor callbacks and sampler snapshots become
    messages once the app attaches the Session (built before the app, or in a thread after
    its first frame)."""

    mode = "live"
    keys = LIVE_KEYS
    live = True

    def __init__(self, session=None):
        self.session = session
        self._windows_pending = []  # WindowItems of the report being read (_on_supervisor)

    def info(self) -> dict:
        if self.session is None:
            return {"run_id": "…", "host": socket.gethostname()}  # the rest once the Session exists
        return live_info(self.session)

    def attach(self, app, session) -> None:
        """Feeds ``app`` from ``session``: supervisor callbacks and sampler snapshots (which
        still become ``samples`` rows first) are posted as messages."""
        self.session = session
        self.app = app
        session.supervisor.subscribe(self._on_supervisor)
        sampler = session.sampler
        if sampler is not None:
            store_cb = sampler.on_snapshot
            t0 = session.t0

            def on_snapshot(snap, _store_cb=store_cb):
                if _store_cb is not None:
                    _store_cb(snap)
                metrics = {k: (m.value, m.unit, m.reason) for k, m in snap.metrics.items()}
                app.post_message(msg.SampleTaken(snap.t - t0, metrics))  # thread-safe

            sampler.on_snapshot = on_snapshot

    def _on_supervisor(self, kind, data) -> None:
        """Supervisor callback (in the loop's thread): becomes a message, nothing else."""
        if kind == "window":
            t, w = data
            # gathered, and posted as one message once the supervisor is done with this
            # report (a runner's pass of 2,000 windows is one report: one message)
            if not self._windows_pending:
                asyncio.get_running_loop().call_soon(self._post_windows)
            self._windows_pending.append(msg.WindowItem(t.id, w.t_start, w.t_end, w.images, w.batches, t.batch,
                                                        w.hist or {}, w.queries))
        elif kind == "tenant":
            t = data
            self.app.post_message(msg.TenantChanged(t.id, t.group.id, t.spec.model, t.spec.framework,
                                                    t.spec.resource, t.batch, t.spec.isolation, t.spec.threads,
                                                    t.status, t.error, t.moved_from, t.spec.rate, t.spec.slo_ms,
                                                    t.spec.slo_pct))
        elif kind == "event":
            self.app.post_message(msg.RunEvent(data["t"], data["kind"], data["tenant"], data["detail"]))

    def _post_windows(self) -> None:
        windows, self._windows_pending = self._windows_pending, []
        if windows:
            self.app.post_message(msg.WindowsDone(windows))


class ReplaySource(Source):
    """A recorded run (tui/replay.py ``Recording``) played on a virtual clock, ``speed``
    times real time; from its end at once with ``at_end`` or a speed of 0."""

    mode = "replay"
    keys = REPLAY_KEYS

    def __init__(self, recording, speed: float = 1.0, at_end: bool = False):
        self.recording = recording
        self.speed = speed
        self.at_end = at_end
        self._play_i = 0
        self._play_t = 0.0

    def info(self) -> dict:
        base = self.recording.info()
        base.setdefault("frameworks", "-")
        return base

    def start(self, app) -> None:
        if self.at_end or not self.speed:
            self._play(app, self.recording.end)
        else:
            app.set_interval(0.1, lambda: self._tick(app))

    def _play(self, app, t: float) -> None:
        items, self._play_i = self.recording.until(self._play_i, t)
        for m in items:
            app.post_message(m)
        app.post_message(msg.ClockTick(min(t, self.recording.end)))

    def _tick(self, app) -> None:
        if self._play_t >= self.recording.end:
            return
        self._play_t += 0.1 * self.speed
        self._play(app, self._play_t)

    def on_clock(self, app, t: float) -> None:
        if t >= self.recording.end:
            app.refresh_view()  # the last frame of the recording, drawn at once


class FollowSource(Source):
    """A run another controller is writing (tui/replay.py ``Follower``), or every board's
    run of a fleet DB (tui/fleet_follow.py ``FleetFollower``), polled every half second in
    a thread; ``x`` asks the run's own controller to stop it."""

    mode = "follow"
    keys = FOLLOW_KEYS

    def __init__(self, follower):
        self.follower = follower
        self.boards = bool(getattr(follower, "fleet", False))

    def info(self) -> dict:
        base = self.follower.info()
        base.setdefault("frameworks", "-")
        return base

    def start(self, app) -> None:
        def poll():
            # read in a thread (the UI never waits on the DB), one poll at a time
            app.run_worker(lambda: self._poll(app), thread=True, exclusive=True, group="follow",
                           exit_on_error=False)

        app.set_interval(0.5, poll)

    def _poll(self, app) -> None:
        for m in self.follower.poll():
            app.post_message(m)

    def stop_followed(self):
        return self.follower.stop_run()

    def close(self) -> None:
        self.follower.close()


SOURCES = (LiveSource, ReplaySource, FollowSource, Source)


def source_for(session=None, session_factory=None, recording=None, follower=None, speed: float = 1.0,
               at_end: bool = False) -> Source:
    """The source of the app's arguments: a live Session (or one still to be built), else a
    recording, else a followed run, else none."""
    if session is not None or session_factory is not None:
        return LiveSource(session)
    if recording is not None:
        return ReplaySource(recording, speed, at_end)
    if follower is not None:
        return FollowSource(follower)
    return Source()


def live_info(session) -> dict:
    """Header facts of a live session, from the run's recorded host fingerprint."""
    from tui.replay import host_info

    run = session.store.run_row(session.run_id)
    info = host_info(run, session.db)
    if info["host"] == "?":
        info["host"] = socket.gethostname()
    return info
