"""CSV export of the run log: one table, or the default timeline of windows with their tenants.

Cells that a spreadsheet would read as a formula (starting with =, +, -, @, tab or CR)
are prefixed with a quote mark, as OWASP's CSV-injection advice says; numbers are written
as numbers, so negative values stay numeric. Where the run's samples have power, the
timeline gains ``power_w`` and ``joules_per_image`` (see ``_with_power`` and storage/energy.py);
where it has open-loop tenants, their queries (``_with_queries``, storage/queries.py).
"""
import csv
import os
from pathlib import Path

from storage.errors import BadInput

TABLES = ("timeline", "runs", "tenants", "windows", "samples", "events", "results")

TIMELINE_SQL = """
SELECT w.tenant, t.group_id, t.model, t.framework, t.resource, t.isolation, t.threads,
       w.t_start, w.t_end, w.images, w.batches, w.batch,
       ROUND(w.images / (w.t_end - w.t_start), 3) AS throughput, w.hist
FROM windows w JOIN tenants t ON t.id = w.tenant
WHERE t.run = ? ORDER BY w.t_start, w.tenant
"""

BY_RUN = {
    "runs": "SELECT * FROM runs WHERE id = ?",
    "tenants": "SELECT * FROM tenants WHERE run = ? ORDER BY id",
    "windows": "SELECT w.* FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? ORDER BY w.t_start, w.tenant",
    "samples": "SELECT * FROM samples WHERE run = ? ORDER BY t",
    "events": "SELECT * FROM events WHERE run = ? ORDER BY t, id",
    "results": "SELECT * FROM results WHERE run = ? ORDER BY id",
    "timeline": TIMELINE_SQL,
}


def safe_cell(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def check_out(out, flag: str = "--out") -> Path:
    """Raises BadInput unless ``out`` is a place a CSV file may be written (before any writing):
    not a folder, in a folder that exists and is writable, and not an SQLite database (the
    run log itself, or any other: exporting over one would destroy it)."""
    if str(out) == "-":  # standard output
        return Path("-")
    out = Path(out)
    if out.is_dir():
        raise BadInput(f"{flag} {out} is a folder; give a file name such as {out / 'run.csv'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BadInput(f"{flag} {out}: folder {parent} does not exist or is not writable")
    if out.is_file():
        try:
            with open(out, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise BadInput(f"{flag} {out} cannot be read: {exc.strerror or exc}") from None
        if head == b"SQLite format 3\x00":
            raise BadInput(f"{flag} {out} is an SQLite database; a CSV written there would destroy it: "
                           "give a new file name such as run.csv")
        if not os.access(out, os.W_OK):
            raise BadInput(f"{flag} {out} is not writable; give a file you can write")
    return out


def check_export(conn, out, run_id: int = None, table: str = "timeline", flag: str = "--out") -> int:
    """Checks what ``export_csv`` would be given; returns the run id (default: the latest)."""
    if table not in TABLES:
        raise BadInput(f"--table {table!r} is not a table; accepted: {', '.join(TABLES)}")
    if run_id is None:
        row = conn.execute("SELECT MAX(id) FROM runs").fetchone()
        if row is None or row[0] is None:
            raise BadInput("the DB holds no run to export")
        run_id = row[0]
    elif conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]
        raise BadInput(f"--run {run_id} is not in the DB; runs: {', '.join(map(str, ids[-10:])) or 'none'}")
    check_out(out, flag)
    return run_id


def export_csv(conn, out: Path, run_id: int = None, table: str = "timeline", flag: str = "--out") -> int:
    """Writes one table of one run (default: the latest) to CSV; returns the row count.

    ``flag`` names the option ``out`` came from in messages. A write the disk refuses
    (full, ``/dev/full``, a size limit) is one BadInput line, and a file this call created
    is removed rather than left half written."""
    run_id = check_export(conn, out, run_id, table, flag)
    out = Path(out)
    open_loop = table == "timeline" and _has_open_loop(conn, run_id)
    cur = conn.execute(TIMELINE_OPEN_LOOP_SQL if open_loop else BY_RUN[table], (run_id,))
    names = [d[0] for d in cur.description]
    rows = cur
    if open_loop:
        names, rows = _with_queries(names, rows)
    if table == "timeline":
        names, rows = _with_power(conn, run_id, names, rows)
    n = 0
    if str(out) == "-":  # `--out -`: standard output, as Unix tools read it
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
            n += 1
        return n
    created = not out.exists()
    try:
        with open(out, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                n += 1
    except BrokenPipeError:
        raise  # --out /dev/stdout read by `head`: the CLI ends quietly (exit 141)
    except OSError as exc:
        if created:
            try:
                out.unlink()
            except OSError:
                pass
        raise BadInput(f"{flag} {out} cannot be written: {exc.strerror or exc}") from None
    if out.is_file() and created:
        out.chmod(0o644)  # never world-writable (and never a device's or a file's we did not make)
    return n


# the timeline of a run with open-loop tenants: their windows' queries too (NULL for a
# closed-loop tenant's window)
TIMELINE_OPEN_LOOP_SQL = TIMELINE_SQL.replace(
    "w.hist\n", "w.hist, w.scheduled, w.started, w.completed, w.dropped, w.within_slo, w.queue, w.lag_sum, w.lag_max, "
    "w.qhist\n")
QUERY_COLUMNS = ("scheduled", "started", "completed", "dropped", "within_slo", "queue", "lag_mean_ms", "lag_max_ms",
                 "goodput_qps", "slo_attainment", "qhist")


def _has_open_loop(conn, run_id) -> bool:
    from storage import schema

    return schema.has_query_columns(conn) and conn.execute(
        "SELECT 1 FROM windows w JOIN tenants t ON t.id = w.tenant WHERE t.run = ? AND w.scheduled IS NOT NULL "
        "LIMIT 1", (run_id,)).fetchone() is not None


def _with_queries(names, rows):
    """Timeline rows of TIMELINE_OPEN_LOOP_SQL with each open-loop window's queries: the
    counts, the start lag's mean and max, goodput and SLO attainment (storage/queries.py),
    and ``qhist``, the histogram of latencies from the scheduled arrival. Streams."""
    from storage import queries

    n = len(names) - 9  # the 9 query columns come last
    i0, i1 = names.index("t_start"), names.index("t_end")

    def with_queries():
        for r in rows:
            sched, started, completed, dropped, within, queue, lag_sum, lag_max, qhist = r[n:]
            if sched is None:
                yield [*r[:n], *([None] * len(QUERY_COLUMNS))]
                continue
            att = queries.attainment(within, completed, dropped)
            good = queries.goodput(within, r[i1] - r[i0])
            yield [*r[:n], sched, started, completed, dropped, within, queue,
                   round(lag_sum * 1000.0 / started, 3) if started else None, round(lag_max * 1000.0, 3),
                   None if good is None else round(good, 3), None if att is None else round(att, 4), qhist]

    return [*names[:n], *QUERY_COLUMNS], with_queries()


def _with_power(conn, run_id, names, rows):
    """Timeline rows with ``power_w`` (the board's mean power over the window's span) and
    ``joules_per_image`` (the board's energy over that span / the images every tenant
    completed in that slot), when the run's samples have power; else the rows as they are.

    ``rows`` is the open cursor and the answer streams from it: a run of days has millions
    of windows, and export never holds them (the slots' image totals come from one SQL
    aggregate first)."""
    from storage.energy import run_power_points, window_power

    points = run_power_points(conn, run_id)
    if not points:
        return names, rows
    i0, i1, ii = names.index("t_start"), names.index("t_end"), names.index("images")
    slot_images = {}
    for t0, t1, images in conn.execute(
            "SELECT w.t_start, w.t_end, SUM(w.images) FROM windows w JOIN tenants t ON t.id = w.tenant "
            "WHERE t.run = ? GROUP BY w.t_start, w.t_end", (run_id,)):
        key = (round(t0, 3), round(t1, 3))
        slot_images[key] = slot_images.get(key, 0) + images

    def with_power():
        for r in rows:
            watts, joules = window_power(points, r[i0], r[i1])
            images = slot_images[(round(r[i0], 3), round(r[i1], 3))]
            jpi = round(joules / images, 6) if joules is not None and images > 0 else None
            yield [*r, None if watts is None else round(watts, 3), jpi]

    return [*names, "power_w", "joules_per_image"], with_power()
