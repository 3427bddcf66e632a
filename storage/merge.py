"""Merging run logs of several boards into one DB, so report and correlate compare them.

Every run of every source is copied with new ids (runs, tenants, windows, samples,
events, results; ``moved_from`` and every foreign key remapped). The host fingerprint is
kept as it was, so runs stay attributable to their board; tenant ids inside ``results``
values (``tenants``, ``failed_tenants``, at any depth) are remapped too; ``params`` gains
``merged_from`` = {db, run} (the source file and the run's id there). A run already
present in the output (same kind, start time, host and params) is skipped, so merging
twice does not duplicate. Sample columns missing in the output are added.
"""
import json
import sqlite3
from pathlib import Path

from storage.errors import BadInput
from storage import schema


def _cols(conn, table):
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _copy_rows(src, dst, table, where, args, remap: dict, drop=("id",)):
    """Copies rows; ``remap``: column -> function(old) -> new. Returns {old id: new id}."""
    cols = _cols(src, table)
    rows = [dict(zip(cols, row)) for row in src.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", args)]
    return insert_rows(dst, table, cols, rows, remap, drop)


def insert_rows(dst, table, cols, rows, remap: dict, drop=("id",)) -> dict:
    """Inserts ``rows`` (dicts of ``cols``, another DB's ids) into ``dst``'s ``table`` with
    new ids; ``remap``: column -> function(old) -> new. Sample columns ``dst`` lacks are
    added. Returns {old id: new id}. Shared by merge and the fleet (storage/fleet_db.py)."""
    dcols = set(_cols(dst, table))
    for c in cols:
        if c not in dcols:  # samples: a metric the output has not seen yet
            dst.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" REAL')
    ids = {}
    keep = [c for c in cols if c not in drop]
    sql = f'INSERT INTO {table} ({", ".join(chr(34) + c + chr(34) for c in keep)}) VALUES ({", ".join("?" for _ in keep)})'
    for rec in rows:
        vals = []
        for c in keep:
            v = rec.get(c)
            if c in remap and v is not None:
                v = remap[c](v)
            vals.append(v)
        cur = dst.execute(sql, vals)
        ids[rec["id"]] = cur.lastrowid
    return ids


TENANT_LISTS = ("tenants", "failed_tenants")


def remap_result(value: str, tmap: dict) -> str:
    """A ``results.value`` JSON with the tenant ids of ``tenants`` / ``failed_tenants`` lists
    (at any depth) mapped through ``tmap``; ids not in it are kept."""
    try:
        obj = json.loads(value)
    except (TypeError, ValueError):
        return value

    def walk(o):
        if isinstance(o, dict):
            return {k: ([tmap.get(x, x) if isinstance(x, int) else x for x in v]
                        if k in TENANT_LISTS and isinstance(v, list) else walk(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(x) for x in o]
        return o

    return json.dumps(walk(obj))


def merge(sources, out) -> dict:
    """Merges the DB files ``sources`` into ``out``; returns counts."""
    out = Path(out)
    srcs = [Path(s) for s in sources]
    for s in srcs:
        if not s.is_file():
            raise BadInput(f"{s} does not exist; give edgemt DB files to merge")
        if s.resolve() == out.resolve() if out.exists() else False:
            raise BadInput(f"--out {out} is also a source; give a new file for --out")
        schema.connect(s, readonly=True, flag="merge source").close()  # every source is edgemt's: checked first
    created = not out.exists()
    dst = schema.connect(out, flag="--out")
    dst.row_factory = None
    counts = {"runs": 0, "skipped": 0, "tenants": 0, "windows": 0, "samples": 0, "events": 0, "results": 0}
    try:
        for path in srcs:
            src = schema.connect(path, readonly=True)
            src.row_factory = None
            try:
                for (run_id, kind, started, host, params) in src.execute(
                        "SELECT id, kind, started, host, params FROM runs ORDER BY id").fetchall():
                    p = json.loads(params or "{}")
                    p_orig = dict(p)
                    p.pop("merged_from", None)
                    dup = False
                    for (op,) in dst.execute("SELECT params FROM runs WHERE kind = ? AND started = ? AND host IS ?",
                                             (kind, started, host)):
                        q = json.loads(op or "{}")
                        q.pop("merged_from", None)
                        if q == p:
                            dup = True
                    if dup:
                        counts["skipped"] += 1
                        continue
                    p_orig.setdefault("merged_from", {"db": str(path.resolve()), "run": run_id})
                    rmap = _copy_rows(src, dst, "runs", "id = ?", (run_id,),
                                      {"params": lambda _v, pp=p_orig: json.dumps(pp)})
                    new_run = rmap[run_id]
                    counts["runs"] += 1
                    tmap = _copy_rows(src, dst, "tenants", "run = ?", (run_id,), {"run": lambda _v: new_run})
                    # moved_from points at tenants of the same run: fix it after all are copied
                    for old, new in tmap.items():
                        (mf,) = src.execute("SELECT moved_from FROM tenants WHERE id = ?", (old,)).fetchone()
                        if mf is not None:
                            dst.execute("UPDATE tenants SET moved_from = ? WHERE id = ?", (tmap.get(mf), new))
                    counts["tenants"] += len(tmap)
                    for old, new in tmap.items():
                        counts["windows"] += len(_copy_rows(src, dst, "windows", "tenant = ?", (old,),
                                                            {"tenant": lambda _v, n=new: n}))
                    counts["samples"] += len(_copy_rows(src, dst, "samples", "run = ?", (run_id,),
                                                        {"run": lambda _v: new_run}))
                    counts["events"] += len(_copy_rows(src, dst, "events", "run = ?", (run_id,),
                                                       {"run": lambda _v: new_run, "tenant": lambda v: tmap.get(v, v)}))
                    counts["results"] += len(_copy_rows(src, dst, "results", "run = ?", (run_id,),
                                                        {"run": lambda _v: new_run,
                                                         "value": lambda v, m=tmap: remap_result(v, m)}))
            finally:
                src.close()
        dst.commit()
    except sqlite3.DatabaseError as exc:
        dst.rollback()
        dst.close()
        if created:  # never leave an empty output behind
            out.unlink()
        raise BadInput(f"merge failed: {exc}") from None
    finally:
        schema.close_writer(dst)
    return counts
