"""``edgemt run``: tenants headless, a live rich table while they run, a summary at the end."""
import asyncio
import json
import sys
import time
from pathlib import Path

from runners import config, limits
from runners.errors import BadInput
from runners.measure import in_phase, measure, tenant_summary
from tui.open_loop_table import print_open_loop
from runners.spec import parse_spec
from storage import schema
from tui.exit_codes import ExitCode
from tui.session import Session, db_flag, resolve_db, wall_clock_of


def check_window(window_s: float, duration: float = None, max_duration: float = None, where="--window") -> None:
    """A measurement is made of whole windows: a window longer than the time measured would
    never end inside it (a 3600 s window made a 10 s run wait an hour)."""
    if duration is not None and window_s > duration:
        raise BadInput(f"{where} {window_s:g} s is longer than --duration {duration:g} s; a measurement is whole "
                       f"windows: give a window of at most {duration:g} s")
    if max_duration is not None and window_s > max_duration:
        raise BadInput(f"{where} {window_s:g} s is longer than --max-duration {max_duration:g} s; give a window of "
                       f"at most {max_duration:g} s")


def check_images(folder: str) -> str:
    """An --images folder must exist and hold at least one readable image among the files
    the runners read (runners/child/image_files.py: the folder's files and one level of
    class folders), checked here, before anything starts; the children skip and count
    unreadable files."""
    from runners.child.image_files import deeper_files, list_files

    if not folder.strip():  # `--images "$DIR"` with DIR unset must not mean the built-in set
        raise BadInput("--images '' is empty; give a folder of images (flat or one folder per class)")
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise BadInput(f"--images {folder!r} is not a folder; give a folder of images (flat or one folder per class)")
    try:
        files = list_files(str(path))
    except OSError as exc:
        raise BadInput(f"--images {folder!r} cannot be read: {exc.strerror or exc}") from None
    if not files:
        deeper = deeper_files(str(path))
        if deeper:
            raise BadInput(f"--images {folder!r} holds its {deeper} files more than one folder down; edgemt reads "
                           "the folder's own files and one level of class folders (folder/CLASS/image.jpg)")
        raise BadInput(f"--images {folder!r} is empty; give a folder of images (JPEG, PNG, ...)")
    from PIL import Image

    for f in files:
        try:
            if Path(f).stat().st_size == 0:
                continue
            with Image.open(f) as im:
                im.load()
            return str(path.absolute())
        except Exception:  # noqa: BLE001 - the children skip what does not decode, and so does this check
            continue
    raise BadInput(f"--images {folder!r} holds no readable image ({len(files)} files, none decodes)")


def check_measure_at(epoch, now: float):
    """``--measure-at EPOCH``: an instant ahead of ``now`` (``time.time()``), within a day."""
    if epoch is None:
        return None
    if epoch <= now:
        raise BadInput(f"--measure-at {epoch:.3f}: that instant is already past (now {now:.3f}); give a later "
                       "one, in seconds since 1970 (e.g. $(( $(date +%s) + 30 )))")
    if epoch - now > limits.MEASURE_AHEAD_S:
        raise BadInput(f"--measure-at {epoch:.3f}: that is {(epoch - now) / 3600:.1f} h ahead; give an instant "
                       f"within {limits.MEASURE_AHEAD_S / 3600:g} h of now ({now:.3f})")
    return float(epoch)


def run_command(args) -> int:
    cfg = config.load()
    measure_at = check_measure_at(args.measure_at, time.time())
    specs = [parse_spec(s) for s in args.tenant]
    check_window(args.window or cfg["window_s"], args.duration, args.max_duration,
                 "--window" if args.window else "window_s in config.toml")
    from runners.spec import check_total

    check_total(specs)
    db = resolve_db(args.db, cfg)
    flag = db_flag(args.db, cfg)
    schema.check_path(db, flag)
    schema.identify(db, flag)  # refuses another program's DB or a newer schema before anything starts
    images = check_images(args.images) if args.images is not None else None
    from tui.session import edgetpu_lister
    from runners.placement import PlacementChecker

    from tui.waiting import TtyProgress

    progress = TtyProgress()
    checker = PlacementChecker(cfg, edgetpu_lister(), progress=progress)
    try:
        checker.check_all(specs)
    finally:
        progress.done()
    params = {"tenants": args.tenant, "duration": args.duration, "images": images,
              "include_transfer": args.include_transfer, "window_s": args.window}
    if measure_at is not None:
        params["measure_at"] = measure_at
    return asyncio.run(_run(args, specs, db, cfg, images, checker, params, measure_at))


async def _run(args, specs, db, cfg, images, checker, params, measure_at=None) -> int:
    live = None
    # --measure-at: the instant on the monotonic clock, which the run's window grid is laid on
    grid_at = None if measure_at is None else time.monotonic() + (measure_at - time.time())
    # the session owns signals, status and close (tui/session.py): a stop signal or a DB
    # the disk stops taking sets session.stop, which ends measure(); the run is then
    # interrupted, failed if anything raised, else done
    async with Session(db, "run", params, cfg, images=images, include_transfer=args.include_transfer,
                       window_s=args.window, checker=checker, grid_at=grid_at) as session:
        sup = session.supervisor
        try:
            for spec in specs:
                await sup.add_group(spec)
            if not args.json and sys.stdout.isatty():
                from rich.live import Live

                live = Live(_table(sup), refresh_per_second=2, transient=False)
                live.start()
            since_at = None if measure_at is None else grid_at - session.t0  # a window edge of the run clock
            m = await measure(sup, duration=args.duration, max_s=args.max_duration, stop=session.stop,
                              on_tick=(lambda: live.update(_table(sup))) if live else None, since_at=since_at)
            session.outcome = "interrupted" if m.reason == "stopped" else "done"
            phase = m.phase_since if m.phase_since is not None else m.since
            # where the measured phase began on this machine's wall clock (a fleet's head
            # turns it into its own clock with the board's offset)
            measured_at = round(wall_clock_of(session.t0, phase), 6)
            late = None if since_at is None else round(max(0.0, phase - since_at), 3)
            session.store.update_run_params(session.run_id, {**params, "measured": {
                "since": m.since, "until": m.until, "steady": m.steady, "phase_since": phase, "at": measured_at,
                "measure_at": measure_at, "late_s": late}})
        finally:
            if live:
                live.stop()
            tenants = sup.all_tenants()
    status = session.status
    stopped_by = session.stopped_by
    if session.store.error:
        print(f"edgemt: cannot write the DB {db}: {session.store.error}; tenants stopped; what was written "
              f"before is kept (run {session.run_id} shows as interrupted at the next start)", file=sys.stderr)
        return ExitCode.STORAGE
    # one span for every figure: m.since..m.until (whole windows; the steady ones when the
    # steady-state rule ended the run, the ramp before them reported apart)
    summaries = [tenant_summary(t, m.since, m.until) for t in tenants]
    placements = {}
    for t in tenants:
        placements.setdefault(t.spec.placement, []).append(t)
    placement_tp = {p: round(_span_rate(ts, m.since, m.until), 3) for p, ts in placements.items()}
    total = round(_span_rate(tenants, m.since, m.until), 3)
    measured = max(0.0, m.until - m.since)  # stopped during warm-up: nothing measured, not a negative time
    out = {"run_id": session.run_id, "db": str(db), "tenants": summaries, "placements": placement_tp,
           "total_throughput": total, "images": sum(s["images"] for s in summaries),
           "span": [round(m.since, 3), round(m.until, 3)], "measured_s": round(measured, 3),
           "steady": m.steady, "stopped_by": m.reason, "ramp": None, "measured_at": measured_at,
           "measure_at": measure_at, "measure_at_late_s": late}
    from runners import threads

    over = threads.oversubscription([s for s in summaries if s["status"] == "ok"])
    out["oversubscription"] = over["message"] if over else None
    out["advice"] = over["advice"] if over else None
    if m.ramp:
        from storage import aggregate

        out["ramp"] = aggregate.ramp_summary({t.id: in_phase(t, *m.ramp) for t in tenants}, m.ramp)
    if stopped_by:
        out["signal"] = session.stop_signal_name().split()[0]
    _add_energy(out, db, session.run_id, m)
    weights = {s["weights"] for s in summaries if s["weights"]}
    if args.json:
        print(json.dumps(out))
    else:
        _print_summary(out, weights)
    if late:  # the tenants were not warm by --measure-at: said, not hidden
        print(f"edgemt: the tenants were warm only after --measure-at {measure_at}: the measured phase started "
              f"{late:g} s later, at the next window edge", file=sys.stderr)
    if status == "interrupted":
        # documented in docs/cli.md: 130 whatever stopped it, the measurements are stored
        print(f"edgemt: stopped by {session.stop_signal_name()} after "
              f"{measured:.1f} s measured; run {session.run_id} is stored as interrupted", file=sys.stderr)
        return ExitCode.STOPPED
    return ExitCode.TENANT_FAILED if any(s["status"] == "failed" for s in summaries) else ExitCode.OK


def _add_energy(out, db, run_id, m):
    """Energy over the measured phase beside every throughput (storage/energy.py): the run's
    ``energy_j``, ``joules_per_inference`` per tenant, placement and total, or None with
    ``energy.reason`` (e.g. power not measured)."""
    from storage.energy import run_energy

    conn = schema.connect(db, readonly=True)
    try:
        e = run_energy(conn, run_id, m.since, m.until)
    finally:
        conn.close()
    out["energy_j"] = e["energy_j"]
    out["run_energy_j"] = e["run_energy_j"]
    out["joules_per_inference"] = e["joules_per_inference"]
    out["placement_joules_per_inference"] = {p: e["placements"].get(p, {}).get("joules_per_inference")
                                             for p in out["placements"]}
    for s in out["tenants"]:
        s["joules_per_inference"] = e["tenants"].get(s["id"], {}).get("joules_per_inference")
    out["energy"] = {k: v for k, v in e.items() if k != "tenants"}


def _span_rate(tenants, since: float, until: float) -> float:
    """Images of ``tenants`` in the whole windows of ``[since, until]`` / its length."""
    if until - since <= 1e-9:
        return 0.0
    return sum(w.images for t in tenants for w in in_phase(t, since, until)) / (until - since)


def _j(v):
    return "-" if v is None else f"{v:.4g}"


def _table(sup):
    from rich.table import Table

    table = Table(title=f"edgemt run {sup.run_id} — {sup.now():.0f} s", expand=False)
    for col in ("tenant", "group", "model", "placement", "batch", "state", "img/s now", "img/s mean", "p50 ms"):
        table.add_column(col, justify="right" if col.startswith(("img", "p50", "batch")) else "left")
    for t in sup.all_tenants():
        p50 = t.latency_ms(50)
        table.add_row(str(t.id), t.group.label, t.spec.model, t.spec.placement, str(t.batch), t.status,
                      f"{t.current_throughput():.1f}", f"{t.throughput():.1f}", "-" if p50 is None else f"{p50:.1f}")
    table.caption = f"total {sup.level_throughput([t for t in sup.all_tenants() if t.n_windows]):.1f} img/s"
    return table


def _print_summary(out, weights):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    powered = out.get("joules_per_inference") is not None
    table = Table(title=f"run {out['run_id']}: {out['measured_s']:.1f} s measured ({out['stopped_by']})")
    cols = ["id", "grp", "model", "placement", "batch", "iso", "status", "images", "img/s"]
    cols += ["J/img"] if powered else []  # a column of dashes says nothing: the reason is printed once below
    cols += ["p50 ms", "p99 ms"]
    for col in cols:
        numeric = col in ("batch", "images", "img/s", "J/img", "p50 ms", "p99 ms")
        table.add_column(col, justify="right" if numeric else "left", no_wrap=True)
    for s in out["tenants"]:
        lat = s["latency_ms"]
        row = [str(s["id"]), f"g{s['group']}", s["model"], f"{s['framework']}@{s['resource']}",
               str(s["batch"]), s["isolation"], s["status"],
               str(s["images"]), f"{s['throughput']:.2f}"]
        row += [_j(s.get("joules_per_inference"))] if powered else []
        row += ["-" if lat["p50"] is None else f"{lat['p50']:.1f}", "-" if lat["p99"] is None else f"{lat['p99']:.1f}"]
        table.add_row(*row)
    console.print(table)
    print_open_loop(console, out)
    for s in out["tenants"]:
        if s["error"]:
            console.print(f"tenant {s['id']} failed: {s['error']}", markup=False)
    e = out.get("energy") or {}
    for p, v in out["placements"].items():
        pe = (e.get("placements") or {}).get(p) or {}
        jp = pe.get("joules_per_inference")
        if not powered:
            console.print(f"placement {p}: {v:.2f} img/s")
        else:
            console.print(f"placement {p}: {v:.2f} img/s, " + (f"{jp:.4g} J/img ({pe.get('rail')})" if jp is not None
                                                             else f"J/img n/a: {pe.get('reason') or e.get('reason')}"))
    console.print(f"total: {out['total_throughput']:.2f} img/s   db: {out['db']}")
    if out.get("advice"):
        console.print(out["advice"], markup=False)
    r = out.get("ramp")
    if r:  # the steady windows are the figures; the ramp before them is shown apart
        console.print(f"ramp before the steady windows: {r['throughput']:.2f} img/s over {r['since']:.1f}-"
                      f"{r['until']:.1f} s (not in the figures above)")
    if powered:
        console.print(f"energy: {out['joules_per_inference']:.4g} J/img, {out['energy_j']:.4g} J over "
                      f"{out['measured_s']:.1f} s measured (mean {e['mean_power_w']:.3g} W, power_w coverage "
                      f"{e['coverage']:.0%}); whole run {_j(out['run_energy_j'])} J")
    else:
        console.print(f"energy: n/a: {e.get('reason')}")
    if "random" in weights:
        console.print("random weights: throughput is valid, labels are not")
