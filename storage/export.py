"""CSV export of the run log: one table, or the default timeline of windows with their tenants.

Cells that a spreadsheet would read as a formula (starting with =, +, -, @, tab or CR)
are prefixed with a quote mark, as OWASP's CSV-injection advice says; numbers are written
as numbers, so negative values stay numeric.
"""
import csv
import os
from pathlib import Path

from runners.errors import BadInput

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


def export_csv(conn, out: Path, run_id: int = None, table: str = "timeline") -> int:
    """Writes one table of one run (default: the latest) to CSV; returns the row count."""
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
    out = Path(out)
    if out.is_dir():
        raise BadInput(f"--out {out} is a folder; give a file name such as {out / 'run.csv'}")
    if not out.parent.exists() or not os.access(out.parent, os.W_OK):
        raise BadInput(f"--out {out}: folder {out.parent} does not exist or is not writable")
    cur = conn.execute(BY_RUN[table], (run_id,))
    names = [d[0] for d in cur.description]
    n = 0
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in cur:
            writer.writerow([safe_cell(v) for v in row])
            n += 1
    out.chmod(0o644)  # never world-writable
    return n
