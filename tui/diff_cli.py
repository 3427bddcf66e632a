"""``edgemt diff RUN RUN``: what differed between two runs (storage/diff.py), as text or JSON."""
import json

from tui.exit_codes import ExitCode


def add_parser(sub, common):
    d = sub.add_parser("diff", help="what differed between two runs: fingerprint, parameters and results")
    from tui.arguments import run_id_type

    d.add_argument("runs", type=run_id_type, nargs=2, metavar="RUN", help="two run ids (A then B; ratios are B / A)")
    common(d)
    return d


def _val(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def diff_command(args) -> int:
    from runners import config
    from runners.errors import BadInput
    from storage import schema
    from storage.diff import diff_runs, load_run
    from tui.session import resolve_db

    db = resolve_db(args.db, config.load())
    if not db.exists():
        raise BadInput(f"--db {db} does not exist; run something first or give another --db")
    conn = schema.connect(db, readonly=True)
    try:
        a, b = (load_run(conn, r) for r in args.runs)
    finally:
        conn.close()
    d = diff_runs(a, b)
    if args.json:
        print(json.dumps(d))
        return ExitCode.OK
    print_diff(d)
    return ExitCode.OK


def print_diff(d: dict, console=None):
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    ra, rb = d["runs"]
    console.print(f"A = run {ra['id']} ({ra['kind']}, {ra['started']}, {ra['status']})   "
                  f"B = run {rb['id']} ({rb['kind']}, {rb['started']}, {rb['status']})")
    for title, part in (("fingerprint", d["fingerprint"]), ("parameters", d["params"]),
                        ("state at start", d["state_at_start"])):
        n = len(part["added"]) + len(part["removed"]) + len(part["changed"])
        if not n:
            console.print(f"{title}: same ({part['same']} keys)")
            continue
        t = Table(title=f"{title}: {n} differ, {part['same']} same")
        for col in ("key", "A", "B"):
            t.add_column(col, overflow="fold")
        for k, (va, vb) in part["changed"].items():
            t.add_row(k, _val(va), _val(vb))
        for k, v in part["removed"].items():
            t.add_row(k, _val(v), "(absent)")
        for k, v in part["added"].items():
            t.add_row(k, "(absent)", _val(v))
        console.print(t)
    t = Table(title="results (measured phase)")
    for col in ("", "A", "B", "B/A"):
        t.add_column(col, justify="left" if not col else "right")
    for r in d["results"]:
        t.add_row(r["what"], _val(r["a"]), _val(r["b"]), "-" if r["ratio"] is None else f"{r['ratio']:.3f}")
    console.print(t)
    for g, sides in sorted(d["groups"].items()):
        if sides.get("a") != sides.get("b"):
            console.print(f"group {g}: A ran {', '.join(sides.get('a') or ['-'])}; B ran {', '.join(sides.get('b') or ['-'])}")
    why = [x for x in d["energy_reason"] if x]
    if why:
        console.print(f"J/img: {'; '.join(sorted(set(why)))}")
