"""The edgemt terminal UI: live tenants, resources and throughput, steered with keys.

``make_app`` builds the app around a live Session (the same Supervisor, sampler and Store
the headless CLI uses), a recorded run (replay) or a run another controller is writing
(follow): the mode is a source object (tui/sources.py) that feeds the app's messages and
says which keys it offers. The panes, their layout, the keys and what they do are the run
screen's (tui/run_screen.py, the app's default screen); the app keeps the run's state and
lifecycle: the source, the Session (built in a thread after the first frame, closed on q
or a signal), the signals the Session hands it, a lost terminal (tui/lost_terminal.py),
the refresh timer and one supervisor command at a time (``run_command``). Supervisor
callbacks, sampler snapshots and replayed rows reach the widgets only as
``tui.messages``; they update a ``RunState`` and the run screen redraws from it on a timer
(2 Hz), so 32 tenants cost the UI what 1 does. Commands run as workers on the app's loop
(the Supervisor is asyncio-native); the UI never waits on a runner.
"""
import asyncio
import gc
import os
import signal

from textual import work
from textual.app import App, ComposeResult

import themes
from runners.errors import BadInput
from tui import messages as msg
from tui.app_state import RunState
from tui.run_screen import RunScreen
from tui.sources import live_info, source_for

# A full (generation 2) garbage collection scans every object the collector tracks: with
# 2,000 live tenants (~225,000 objects, 92,000 of them windows kept by the UI and the
# supervisor) one held the UI's loop 118-157 ms, every ~4.5 s, and made the only keys
# slower than 100 ms (issue 13, docs/benchmarks.md). While the UI runs, a full collection
# is considered after 100 collections of the middle generation instead of 10: about ten
# times rarer. Cyclic garbage is still collected, later; the windows themselves are
# freed by their reference counts as they leave the kept ones.
FULL_GC_AFTER = 100


class EdgemtApp(App):
    CSS_PATH = str(themes.TCSS)
    TITLE = "edgemt"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, cfg: dict, session=None, *, session_factory=None, recording=None, follower=None,
                 info: dict = None,
                 speed: float = 1.0, at_end: bool = False, keep_running: bool = False, config_path=None,
                 refresh_hz: float = 2.0, envs: dict = None, edgetpus=None, save_theme: bool = True):
        super().__init__()
        self.cfg = cfg
        self.session = session
        self.session_factory = None if session is not None else session_factory
        self.startup_error = None  # what session_factory raised (the UI then exits; the caller re-raises)
        self.keep_running = keep_running
        self.config_path = config_path
        self.refresh_hz = refresh_hz
        self.save_theme = save_theme
        self.envs = dict(envs) if envs is not None else None
        self.edgetpus = edgetpus
        self.detached = False  # SIGHUP with --keep-running: the run goes on without the UI
        self.terminal_lost = False  # SIGHUP: output goes nowhere from then on (tui/lost_terminal.py)
        self.closing = False
        self._cmd_lock = asyncio.Lock()  # one command at a time; closing the run waits for it
        self._pending_status = "done"
        self._oversubscription_due = False
        # the mode (live, replay, follow, empty) as an object: it feeds the messages and
        # says which keys it offers (tui/sources.py)
        self.source = source_for(session, self.session_factory, recording, follower, speed, at_end)
        base = self.source.info()
        base.update(info or {})
        self.state = RunState(base)
        self.run_screen = None  # the RunScreen, made when the app starts (get_default_screen)
        for t in themes.THEMES.values():
            self.register_theme(t)
        name = cfg.get("theme", themes.NAMES[0])
        self.theme = name if name in themes.THEMES else themes.NAMES[0]

    # -- the screen and the run's start --------------------------------------------------------
    def get_default_screen(self) -> RunScreen:
        """The run screen (tui/run_screen.py) draws the state this app keeps, in its source's mode."""
        self.run_screen = RunScreen(self.state, self.source)
        return self.run_screen

    def compose(self) -> ComposeResult:
        # The run screen's panes, mounted on it as the app starts: they exist when on_mount
        # starts the run. A screen's own compose comes later, in the screen's own task,
        # after the app's first messages: the first frames would not be drawn as they are.
        yield from self.run_screen.panes()

    def on_mount(self) -> None:
        self._gc_threshold = gc.get_threshold()
        g0, g1, g2 = self._gc_threshold
        gc.set_threshold(g0, g1, max(g2, FULL_GC_AFTER))
        self.run_screen.prepare()
        if self.session is not None:
            self._attach_session()
        elif self.session_factory is not None:
            # the first frame first: the Session (DB, fingerprint, collectors, placement
            # checker, sampler) is built in a thread once the screen has been drawn
            self.call_after_refresh(self._build_session)
        self.source.start(self)
        self.set_interval(1.0 / self.refresh_hz, self._on_timer)
        self.refresh_view(force=True)

    def on_unmount(self) -> None:
        if getattr(self, "_gc_threshold", None):
            gc.set_threshold(*self._gc_threshold)  # the process's own again (a headless run after the UI)

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _build_session(self) -> None:
        try:
            session = self.session_factory()
            info = live_info(session)
        except BaseException as exc:  # reported by the caller once the UI has exited
            self.post_message(msg.SessionReady(None, {}, exc))
            return
        self.post_message(msg.SessionReady(session, info))

    def on_session_ready(self, m: msg.SessionReady) -> None:
        if m.error is not None:
            self.startup_error = m.error
            self.exit()
            return
        self.session = m.session
        self.state.info.update(m.info)
        self.state.version += 1
        self._attach_session()
        pending_close, self.closing = self.closing, False
        if self.terminal_lost:
            self._after_hangup()  # the terminal went away while the Session was being built
        elif pending_close:
            self.call_later(self.stop_run, self._pending_status)  # q or SIGTERM came first

    def on_resize(self, event) -> None:
        # the app's Resize, not the screen's: the screen hears of the size only after the
        # run's first frame, and applying it then would redraw that frame on the next tick
        self.run_screen.apply_size()

    def _attach_session(self) -> None:
        self.source.attach(self, self.session)
        if self.envs is None:
            self._discover()

    # -- what the UI looks up about the host ------------------------------------------------
    @work(thread=True, exclusive=True, group="envs", exit_on_error=False)
    def _discover(self) -> None:
        """Frameworks with an environment here and what each sees (probe children, in a thread)."""
        from runners import environments, probe
        from runners.catalog import FRAMEWORKS

        found = {}
        for fw in FRAMEWORKS:
            try:
                choice = environments.find_python(fw, self.cfg)
            except Exception as exc:
                found[fw] = f"{exc}"
                continue
            if choice is None:
                found[fw] = f"no environment (edgemt env create {fw})"
                continue
            hello = probe.probe(fw, choice.python)
            found[fw] = hello if hello.get("ev") == "hello" else hello.get("reason", "probe failed")
        try:
            from tui.session import edgetpu_lister

            tpus = list(edgetpu_lister()())
        except Exception:
            tpus = []
        found["_edgetpus"] = tpus
        self.post_message(msg.EnvironmentsFound(found))

    # -- messages -> state -----------------------------------------------------------------
    def on_tenant_changed(self, m: msg.TenantChanged) -> None:
        self.state.on_tenant(m)
        # looked at on the next timer tick, not once a message: the check reads every
        # tenant, and 2,000 tenants starting send 4,000 of these (seconds of CPU)
        self._oversubscription_due = True

    _oversubscribed = None

    def _say_oversubscription(self) -> None:
        """Says once per change when the live tenants' intra-op threads exceed the cores
        (runners/threads.py): two tenants slowing each other down must show why."""
        if self.session is None:
            return
        from runners import threads

        over = threads.oversubscription(t for t in self.session.supervisor.all_tenants() if t.active)
        text = over["message"] if over else None
        if text != self._oversubscribed:
            self._oversubscribed = text
            if over:
                self.notify(over["advice"], title="oversubscribed", severity="warning", timeout=10)
                self.run_screen.log_event(self.state.t, "oversubscribed", None, {"threads": over["message"]})

    def on_window_done(self, m: msg.WindowDone) -> None:
        self.state.on_window(m)

    def on_windows_done(self, m: msg.WindowsDone) -> None:
        on_window = self.state.on_window
        for w in m.windows:
            on_window(w)

    def on_board_totals(self, m: msg.BoardTotals) -> None:
        self.state.on_boards(m.boards)

    def on_run_event(self, m: msg.RunEvent) -> None:
        self.state.on_event(m)
        self.run_screen.log_event(m.t, m.kind, m.tenant, m.detail)

    def on_sample_taken(self, m: msg.SampleTaken) -> None:
        self.state.on_sample(m)

    def on_clock_tick(self, m: msg.ClockTick) -> None:
        self.state.on_clock(m.t)
        self.source.on_clock(self, m.t)

    def on_environments_found(self, m: msg.EnvironmentsFound) -> None:
        found = dict(m.found)
        self.edgetpus = found.pop("_edgetpus", [])
        self.envs = found
        ok = [fw for fw, h in found.items() if isinstance(h, dict)]
        gpus = sorted({d for h in found.values() if isinstance(h, dict) for d in h.get("devices") or []
                       if d.startswith("cuda")})
        self.state.info.update(frameworks=", ".join(ok) or "none", gpus=", ".join(gpus) or "none",
                               edgetpus=", ".join(self.edgetpus) or "none")
        self.state.version += 1

    def on_command_done(self, m: msg.CommandDone) -> None:
        if not m.ok:
            self.notify(m.reason, title=f"{m.what} failed", severity="error", timeout=8)
            self.run_screen.log_event(self.state.t, "error", None, {"command": m.what, "reason": m.reason})

    # -- drawing: the run screen's, on this timer -----------------------------------------------
    def _on_timer(self) -> None:
        self.run_screen.follow_size()
        if self.session is not None:
            self.state.on_clock(self.session.supervisor.now())
        if self._oversubscription_due:
            self._oversubscription_due = False
            self._say_oversubscription()
        self.refresh_view()

    def refresh_view(self, force: bool = False) -> None:
        """Draws the state on the run screen if it changed (tui/run_screen.py)."""
        self.run_screen.refresh_view(force)

    # -- what the run screen asks of the app (tui/run_screen.py RunHost) ------------------------
    def run_command(self, what: str, make_coro) -> None:
        """Runs a supervisor command as a worker, one at a time; the result comes back as a message."""

        async def run():
            async with self._cmd_lock:
                try:
                    await make_coro()
                except BadInput as exc:
                    self.post_message(msg.CommandDone(what, False, str(exc)))
                except Exception as exc:  # a failed command is reported, never a crash of the UI
                    self.post_message(msg.CommandDone(what, False, f"{type(exc).__name__}: {exc}"))
                else:
                    self.post_message(msg.CommandDone(what, True))

        self.run_worker(run(), group="commands", exit_on_error=False)

    def watch_theme(self, name: str) -> None:
        native = themes.ansi_color_for(name)
        if native is not None:  # a Textual without Theme.ansi (the last one for Python 3.8)
            self.ansi_color = native

    async def action_quit(self) -> None:
        await self.stop_run("done")

    async def stop_run(self, status: str = "done") -> None:
        """Stops every tenant cleanly, flushes the DB, then exits."""
        if self.closing:
            return
        self.closing = True
        if self.session is None and self.session_factory is not None and self.startup_error is None:
            self._pending_status = status  # on_session_ready stops the run once it exists
            self.notify("stopping once the run has started…", timeout=30)
            return
        if self.session is None:
            self.source.close()
            self.exit()
            return
        self.notify("stopping every tenant…", timeout=30)
        self.run_worker(self._close(status), group="close", exit_on_error=False)

    async def _close(self, status: str) -> None:
        try:
            async with self._cmd_lock:
                await self.session.close(status)
        finally:
            self.exit()

    # -- signals and losing the terminal --------------------------------------------------------
    def on_signal(self, sig) -> None:
        """What a signal does while the UI is on screen: the Session takes SIGHUP, SIGTERM
        and SIGINT (tui/session.py) and hands them here (``session.on_signal``, set by
        tui/app_main.py). SIGHUP: the terminal is gone; SIGTERM, SIGINT: it says "stopping
        every tenant…" and closes the run through ``Session.close``."""
        if sig == signal.SIGHUP:
            self._on_hangup()
        else:
            self._on_term()

    def get_driver_class(self):
        """The platform's driver, made to drop output once the terminal is lost (tui/lost_terminal.py)."""
        from tui.lost_terminal import quiet_driver

        return quiet_driver(super().get_driver_class())

    def _on_hangup(self) -> None:
        # The terminal is gone: from now on output goes nowhere (tui/lost_terminal.py) and,
        # unless the run goes on detached, the process ends with os._exit once the run is
        # closed: nothing is left on screen to restore.
        from tui.lost_terminal import silence

        silence(self)
        if self.session is None:
            return  # on_session_ready comes back here once the run exists
        self._after_hangup()

    def _after_hangup(self) -> None:
        if self.keep_running:
            # the run goes on headless in this process until SIGTERM / SIGINT
            self.detached = True
            sup = self.session.supervisor
            self.session.store.add_event(self.session.run_id, sup.now(), "detached", None,
                                         {"reason": "terminal lost; --keep-running"})
            return
        self._finish("interrupted")

    def _on_term(self) -> None:
        if self.terminal_lost and self.session is None:
            os._exit(0)  # no run yet, no terminal: nothing to stop
        if self.terminal_lost:
            self._finish("done" if self.detached else "interrupted")
        else:
            self.call_later(self.stop_run, "interrupted")

    def _finish(self, status: str) -> None:
        if self.closing:
            return
        self.closing = True

        async def close_and_leave():
            try:
                await asyncio.wait_for(self.session.close(status), 60)
            finally:
                os._exit(0)

        asyncio.get_running_loop().create_task(close_and_leave())


def make_app(cfg: dict, session=None, *, session_factory=None, **kw) -> EdgemtApp:
    """The UI around a live Session (or one ``session_factory()`` makes in a thread once the
    first frame is drawn), a recording (``recording=``) or a followed run (``follower=``)."""
    return EdgemtApp(cfg, session, session_factory=session_factory, **kw)
