"""The run screen: the panes of one run (tenants, experiment bar, chart, resources, events,
key bar), their layout at the terminal's size, drawing the app's ``RunState`` on them, and
the keys and what they do (add, step, batch, rate, pause, remove, move, export, experiment,
reasons, theme, help, stop the followed run, quit).

It is the app's default screen (``EdgemtApp.get_default_screen``), so ``app.query_one``
still finds its panes while a form is on top. The run's lifecycle is not the screen's: the
app (tui/app.py) owns the Session, the source and the timer, and keeps the state the
messages update; the screen draws that state when asked (``refresh_view``), adds lines to
the events log (``log_event``) and lays the panes out for the terminal's size
(``apply_size``, on the app's Resize). The app mounts the panes (``panes``) as it starts,
so that they exist when its on_mount starts the run: a screen's own compose would come
later, in the screen's own task, and the first frames would not be drawn as they are.

A key's action asks the source whether the mode allows it (``source.live``,
``source.stop_followed``) and the app for the rest, through ``RunHost``: the live Session
(None until it exists), whether the run is closing, the frameworks and EdgeTPUs found
here, ``run_command`` (one supervisor command at a time, which closing the run waits for)
and ``stop_run``. Results come back to the app as messages (``CommandDone``, ``RunEvent``).
"""
import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Protocol

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen

import themes
from runners.errors import BadInput
from tui import messages as msg
from tui.widgets.chart import ThroughputChart
from tui.widgets.events import EventsLog
from tui.widgets.experiment_bar import ExperimentBar
from tui.widgets.header import RunHeader
from tui.widgets.keybar import KeyBar, key_hints
from tui.widgets.resources import ResourcesPanel
from tui.widgets.tenants import TenantsTable

# below this many columns or rows: the 80x24 layout (no chart; themes/edgemt.tcss)
COMPACT_W, COMPACT_H = 100, 30


def first_key_display(app, binding) -> str:
    """A binding's first key (``plus,equals_sign``: ``plus``) as the app displays keys (``+``)."""
    import dataclasses

    return app.get_key_display(dataclasses.replace(binding, key=binding.key.split(",")[0]))


class RunHost(Protocol):
    """What the run screen asks of the app (tui/app.py ``EdgemtApp``), besides Textual's own
    App API (``push_screen``, ``post_message``, ``theme``)."""

    cfg: dict  # the user's config: the step of < and >, the theme
    session: Any  # the live Session (tui/session.py); None until it exists, and in a replay or a follow
    closing: bool  # the run is being stopped: the commands do nothing
    envs: Optional[dict]  # framework -> what its probe saw, or why it has none (the add and move forms)
    edgetpus: Any  # the EdgeTPUs found here
    save_theme: bool  # t writes the theme to the config file at config_path
    config_path: Any

    def run_command(self, what: str, make_coro: Callable[[], Awaitable]) -> None:
        """Runs a supervisor command, one at a time; its result comes back as ``CommandDone``."""

    async def stop_run(self, status: str = "done") -> None:
        """Stops every tenant, closes the run, then exits."""


class RunScreen(Screen):
    """The panes of the run whose ``state`` (tui/app_state.py ``RunState``) they draw, in
    the mode of ``source`` (tui/sources.py: its name for the header, its keys for the key
    bar, whether the tenants table has a board column), steered with the keys of
    ``BINDINGS``."""

    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("plus,equals_sign", "step(1)", "+1"),
        Binding("minus", "step(-1)", "-1"),
        Binding("greater_than_sign,ctrl+up", "step_big(1)", ">step", show=False),
        Binding("less_than_sign,ctrl+down", "step_big(-1)", "<step", show=False),
        Binding("m", "move", "Move"),
        Binding("b", "batch(0.5)", "b/2"),
        Binding("B", "batch(2)", "b*2"),
        Binding("p", "pause", "Pause"),
        Binding("d", "remove", "Remove"),
        Binding("e", "export", "Export"),
        Binding("s", "experiment", "Experiment"),
        Binding("r", "rate", "Rate", show=False),
        Binding("n", "reasons", "n/a why", show=False),
        Binding("t", "theme", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("x", "stop_followed", "Stop run", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, state, source):
        super().__init__()
        self.state = state
        self.source = source
        self._shown = -1  # the state version drawn last
        self._experiment_stop = None  # set while an experiment started with s runs

    @property
    def host(self) -> RunHost:
        """The app, for what the screen asks of it (``RunHost``)."""
        return self.app

    def panes(self) -> ComposeResult:
        """The panes, which the app mounts on this screen as it starts (tui/app.py compose)."""
        yield RunHeader(id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                # following a fleet DB (tui/fleet_follow.py): a board column and board totals
                yield TenantsTable(id="tenants", boards=self.source.boards)
                yield ExperimentBar(id="experiment")
                yield ThroughputChart(id="chart")
            with Vertical(id="right"):
                yield ResourcesPanel(id="resources")
                yield EventsLog(id="events", max_lines=500)
        yield KeyBar(id="keys")

    def prepare(self) -> None:
        """The panes are mounted: the tenants table focused, the mode's keys on the key bar,
        the layout for the terminal's size."""
        self.query_one(TenantsTable).focus()
        self.query_one(KeyBar).show_keys(key_hints(self.BINDINGS, self.source.mode,
                                                   lambda b: first_key_display(self.app, b)))
        self.apply_size()

    # -- layout -------------------------------------------------------------------------------
    def _compact(self) -> bool:
        size = self.app.size
        return size.width < COMPACT_W or size.height < COMPACT_H

    def apply_size(self) -> None:
        """The full layout or the 80x24 one (``-compact``), as the terminal's size asks."""
        compact = self._compact()
        self.set_class(compact, "-compact")
        self.query_one(TenantsTable).set_compact(compact)
        self._shown = -1

    def follow_size(self) -> None:
        """Applies the size if the layout does not match it (a terminal resized before the
        first Resize reached the screen); called on the app's timer."""
        if self._compact() != self.has_class("-compact"):
            self.apply_size()

    # -- drawing ------------------------------------------------------------------------------
    def request_view_refresh(self) -> None:
        """Draws the state again even if it has not changed (a theme, the n/a reasons)."""
        self._shown = -1
        self.refresh_view()

    def refresh_view(self, force: bool = False) -> None:
        """Draws the state on the panes, if it changed since the last time (or ``force``)."""
        if not force and self._shown == self.state.version:
            return
        self._shown = self.state.version
        self.query_one(RunHeader).show(self.state, self.source.mode)
        self.query_one(TenantsTable).show(self.state.groups(), self.state.boards)
        self.query_one(ResourcesPanel).show(self.state)
        self.query_one(ThroughputChart).show(self.state)

    def log_event(self, t: float, kind: str, tenant, detail) -> None:
        """A line in the events log."""
        self.query_one(EventsLog).add(t, kind, tenant, detail)

    # -- commands ------------------------------------------------------------------------------
    def _selected(self):
        gid = self.query_one(TenantsTable).selected_group
        if gid is None:
            self.notify("no group selected; press a to add one", severity="warning")
        return gid

    def _live_group(self, what: str):
        """(the supervisor, the selected group's id) for a command on the selected group of
        a live run, or (None, None) when there is none (said in a notification)."""
        if not self._live(what):
            return None, None
        gid = self._selected()
        sup = self.host.session.supervisor
        if gid is None or gid not in sup.groups:
            return None, None
        return sup, gid

    def _live(self, what: str) -> bool:
        if not self.source.live:
            self.notify(f"{what}: this is a {self.source.mode}; commands need a live run", severity="warning")
            return False
        if self.host.session is None:
            self.notify(f"{what}: the run is still starting", severity="warning")
            return False
        if self.host.closing:
            return False
        return True

    def action_experiment(self) -> None:
        """s: start a sweep or the tuner on this run; s again while one runs stops it."""
        if not self._live("experiment"):
            return
        if self._experiment_stop is not None:
            self._experiment_stop.set()
            self.notify("stopping the experiment; what it measured is kept", timeout=4)
            return
        from tui.screens.experiment import ExperimentScreen

        gid = self._selected_quiet()
        groups = self.host.session.supervisor.groups
        spec_text = str(groups[gid].spec) if gid in groups else "mobilenet_v2"

        def done(req):
            if req is not None:
                self._run_experiment(req)

        self.app.push_screen(ExperimentScreen(spec_text), done)

    def _run_experiment(self, req) -> None:
        from runners.experiments.request import run_experiment
        from tui.screens.experiment import summary_line

        bar = self.query_one(ExperimentBar)
        stop = asyncio.Event()
        self._experiment_stop = stop
        bar.start(f"{req.kind} {req.spec.model} on {req.spec.placement}", req.steps)

        async def run():
            try:
                summary = await run_experiment(self.host.session, req, lambda text, adv: bar.step(text, adv), stop)
            except BadInput as exc:
                bar.finish(f"{req.kind}: {exc}")
                self.app.post_message(msg.CommandDone("experiment", False, str(exc)))
            except Exception as exc:  # reported, never a crash of the UI
                bar.finish(f"{req.kind} failed: {type(exc).__name__}: {exc}")
                self.app.post_message(msg.CommandDone("experiment", False, f"{type(exc).__name__}: {exc}"))
            else:
                bar.finish(summary_line(req.kind, summary))
                self.app.post_message(msg.CommandDone("experiment", True))
            finally:
                self._experiment_stop = None

        self.run_worker(run(), group="experiment", exit_on_error=False)

    def _selected_quiet(self):
        """The selected group's id without a warning when there is none."""
        try:
            return self.query_one(TenantsTable).selected_group
        except Exception:
            return None

    def action_add(self) -> None:
        if not self._live("add"):
            return
        from tui.screens.add_group import AddGroupScreen

        def done(spec):
            if spec is not None:
                self.host.run_command("add", lambda: self.host.session.supervisor.add_group(spec))

        host = self.host
        self.app.push_screen(AddGroupScreen(host.envs or {}, host.session.checker, host.edgetpus or ()), done)

    def action_step(self, delta: int) -> None:
        if not self._live("step"):
            return
        gid = self._selected()
        if gid is None:
            return
        sup = self.host.session.supervisor
        group = sup.groups.get(gid)
        if group is None:
            self.notify(f"g{gid} was removed", severity="warning")
            return
        if delta < 0 and group.count + delta < 1:
            self.notify(f"g{gid} has {group.count} tenant(s); d removes the group", severity="warning")
            return
        self.host.run_command("step", lambda: sup.step(gid, delta))

    def action_step_big(self, sign: int) -> None:
        step = int(self.host.cfg.get("step", 4))
        if sign < 0 and self.host.session is not None:
            gid = self.query_one(TenantsTable).selected_group
            group = self.host.session.supervisor.groups.get(gid)
            if group is not None:
                step = min(step, group.count - 1)
                if step < 1:
                    self.notify(f"g{gid} has {group.count} tenant(s); d removes the group", severity="warning")
                    return
        self.action_step(sign * step)

    def action_batch(self, factor: float) -> None:
        sup, gid = self._live_group("batch")
        if sup is None:
            return
        old = sup.groups[gid].spec.batch
        new = max(1, min(4096, int(old * factor)))
        if new == old:
            self.notify(f"g{gid} batch is already {old}", severity="warning")
            return
        self.host.run_command("batch", lambda: sup.set_batch(gid, new))

    def action_rate(self) -> None:
        """r: the selected group's rate (open loop) and SLO, or back to closed loop."""
        sup, gid = self._live_group("rate")
        if sup is None:
            return
        from tui.screens.rate import RateScreen

        def done(values):
            if values is not None:
                self.host.run_command("rate", lambda: sup.set_rate(gid, *values))

        self.app.push_screen(RateScreen(sup.groups[gid].label, sup.groups[gid].spec), done)

    def action_pause(self) -> None:
        sup, gid = self._live_group("pause")
        if sup is None:
            return
        if sup.groups[gid].paused:
            self.host.run_command("resume", lambda: sup.resume(gid))
        else:
            self.host.run_command("pause", lambda: sup.pause(gid))

    def action_remove(self) -> None:
        sup, gid = self._live_group("remove")
        if sup is None:
            return
        self.host.run_command("remove", lambda: sup.remove(gid))

    def action_move(self) -> None:
        sup, gid = self._live_group("move")
        if sup is None:
            return
        from tui.screens.move import MoveScreen

        g = sup.groups[gid]

        def done(target):
            if target is not None:
                self.host.run_command("move", lambda: sup.move(gid, *target))

        host = self.host
        self.app.push_screen(MoveScreen(g.label, g.spec.model, g.spec.placement, host.envs or {}, host.session.checker,
                                        host.edgetpus or ()), done)

    def action_export(self) -> None:
        from tui.screens.export import ExportScreen

        run_id = self.state.info.get("run_id", "")
        default = str(Path.cwd() / f"edgemt-run{run_id}.csv")

        def done(path):
            if path:
                self._export(self.host, path)

        self.app.push_screen(ExportScreen(default), done)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, host, path: str) -> None:
        """Writes the CSV from a read-only connection in a thread (the UI never waits on the DB).
        ``host`` is the app, looked up on the loop's thread."""
        from storage import schema
        from storage.export import export_csv

        session = host.session
        db = self.state.info.get("db")
        run_id = self.state.info.get("run_id")
        try:
            if session is not None:
                session.store.flush()
            conn = schema.connect(db, readonly=True)
            try:
                n = export_csv(conn, Path(path).expanduser(), run_id, "timeline")
            finally:
                conn.close()
        except BadInput as exc:
            host.post_message(msg.CommandDone("export", False, str(exc)))
            return
        except Exception as exc:
            host.post_message(msg.CommandDone("export", False, f"{type(exc).__name__}: {exc}"))
            return
        t = self.state.t
        detail = {"path": str(path), "rows": n}
        if session is not None:
            t = session.supervisor.now()
            session.store.add_event(session.run_id, t, "exported", None, detail)
        host.post_message(msg.RunEvent(t, "exported", None, detail))

    def action_reasons(self) -> None:
        panel = self.query_one(ResourcesPanel)
        panel.show_reasons = not panel.show_reasons
        self.request_view_refresh()

    def action_theme(self) -> None:
        self.app.theme = themes.next_theme(self.app.theme)
        self.request_view_refresh()
        if self.host.save_theme:
            from runners import config

            try:
                config.update(self.host.config_path, theme=self.app.theme)
            except Exception as exc:
                self.notify(f"theme not saved: {exc}", severity="warning")
        self.notify(f"theme {self.app.theme}", timeout=2)

    def action_stop_followed(self) -> None:
        """x while following a run: ask its own controller to stop it cleanly."""
        said = self.source.stop_followed()
        if said is None:
            self.notify("x stops a run you follow (edgemt --follow RUN); q quits this one", severity="warning")
            return
        self.notify(said, timeout=6)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(int(self.host.cfg.get("step", 4))))

    async def action_quit(self) -> None:
        await self.host.stop_run("done")
