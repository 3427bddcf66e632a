"""Writes docs/cli.md from the argparse definitions (run: .venv/bin/python docs/make_cli_md.py).

tests/unit/test_cli_docs.py fails when an option exists that docs/cli.md does not mention.
"""
import io
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["COLUMNS"] = "100"

from tui.cli import build_parser, walk_parsers  # noqa: E402

INTRO = """# The `edgemt` command line

`edgemt` with no command opens the terminal UI (docs/ui.md). Every headless command takes
`--db PATH` (default `$EDGEMT_DB`, else `$XDG_DATA_HOME/edgemt/edgemt.db`) and, where it
prints results, `--json` (one JSON object on stdout).

Exit status:

| status | meaning |
|---|---|
| **0** | success |
| **1** | internal error, or standard output cannot be written (`> /dev/full`: one line says so) |
| **2** | bad input: one line on stderr naming the bad value and what is accepted; nothing started; nothing written (docs/bad-input.md) |
| **3** | completed, but at least one tenant failed |
| **4** | the DB could not be written during the run (what was written before is kept) |
| **130** | stopped by the user: Ctrl-C (SIGINT), SIGTERM, or a lost terminal (SIGHUP), before or during a run. One line on stderr names the signal; what was measured is stored and the run is `interrupted`; `--json` still prints the summary. 128 + SIGINT, the shell's status of an interrupted command, for every one of them: a script needs one test for "the user stopped it" |
| **141** | standard output closed by its reader (`edgemt run --json \| head -c 10`): quiet, the status of a command killed by SIGPIPE; what was stored is unchanged (the run is `done` if it finished) |

A **SPEC** (`--tenant`) is `key=value` pairs joined by commas, the first item may be the
bare model name: `model`, `framework` (torch, tensorflow, tflite, mxnet), `resource`
(cpu, cuda:N, edgetpu, edgetpu:usb:N, edgetpu:pci:N), `batch` (1-4096), `count` (up to 256
processes or 4096 threads), `isolation` (process, thread), `threads` (intra-op threads,
1 to 4 a core of this machine), `file` (a model file: TorchScript or state dict for torch,
.tflite / _edgetpu.tflite, .keras), `size` (input side of a `file=` model, 32-2048),
`autotune` (mxnet: cuDNN auto-tune on/off), `procs` (thread isolation: spread the
tenants over 1-64 runner processes; one process runs Python on one core at a time).

**Numbers** (`runners/limits.py`, the same on the command line, in SPECs and in
config.toml): whole numbers are plain ASCII digits (`1_0`, full-width digits, `2.0`, `1e2`,
`0x10`, `+3` are refused); real numbers are ASCII decimals with an optional exponent
(`nan`, `inf` and values that overflow are refused). Ranges, both ends included:

| number | range |
|---|---|
| `--window`, config `window_s` | 0.1 to 60 s, and at most `--duration` / `--max-duration` |
| `--duration` | 0.1 to 604800 s (a week) |
| `--max-duration` | 1 to 604800 s |
| `--cooldown` | 0 to 3600 s |
| config `sample_hz` | 0.01 to 100 samples a second |
| config `step` | 1 to 256 |
| `batch=`, `--batches` | 1 to 4096 |
| `count=` | 1 to 256 (process isolation), 1 to 4096 (thread) |
| `threads=` | 1 to 4 x the cores this process may use |
| `size=` | 32 to 2048 pixels |
| `--repeat` | 1 to 100 |
| `--max` | 1 to 4096 |
| `--budget` | 1 to 10000 |
| `--p99-ms` | 0.001 to 1000000 ms |
| `replay --speed` | 0 to 1000 (0 jumps to the end) |
| run ids (`--run`, `--follow`, `--resume`, RUN) | 1 to 2^63 - 1 |

A DB (`--db`, `merge --out`) is written only when it is new (missing, empty, or an SQLite
file without tables) or edgemt's own (`PRAGMA application_id` 0x45444D54 and a schema
version this edgemt knows); commands that only read open it read-only. The UI needs a
terminal (stdin and stderr): without one, use `edgemt run`.

This page is generated from the parser by `docs/make_cli_md.py`.
"""


FLEET_PLAN = """## A fleet plan (`edgemt fleet run PLAN`)

A plan is a TOML file: which boards, and what `edgemt run` each one does. Every board must
have joined the Ray cluster (`edgemt fleet boards` lists them; README, "Boards"):

```toml
duration = 3        # seconds each board measures (0.1 to 604800); a board may say its own
window = 1.0        # optional: every board's window (0.1 to 60 s, at most the duration)
rejoin = 60         # optional: seconds the head waits for a board that left to come back (0-3600, default 0)
sync_start = true   # optional: every board's run is started at one instant of the head's clock
warmup = 30         # optional, with sync_start: seconds from that start to every board's measured phase (0-3600, default 30)

[boards.jetson1]    # a board's name: the NAME of its Ray resource board:NAME
tenants = ["mobilenet_v2,framework=tflite,threads=1"]   # SPECs, as --tenant takes them

[boards.pi4]
tenants = ["mobilenet_v2,framework=tflite", "resnet18,framework=tflite"]
duration = 5

[boards."with:edgetpu"]   # every joined board whose fingerprint has an EdgeTPU
tenants = ["mobilenet_v2,framework=tflite,resource=edgetpu"]

[boards.nano]
command = "sweep batch"   # run (the default), sweep batch, sweep concurrency, dmp, tune, capacity
tenants = ["resnet18"]
args = ["--batches", "1,2,4"]   # the command's other options (not --db, --json, --resume)
```

A table `with:WHAT` runs on every joined board whose fingerprint (its `edgemt devices`)
has WHAT: a resource (`edgetpu` matches `edgetpu:usb:0`, `cuda` matches `cuda:0`) or a
framework that imports there (`tflite`); a board with its own table keeps that one, and a
WHAT no joined board has is refused, naming the table and what each board has.
Keys: `duration`, `window`, `rejoin`, `sync_start`, `warmup`, `boards` at the top; `tenants`, `duration`, `window`, `command`, `args` in a board (`duration` is needed by `run`;
the experiments default to their steady-state rule).
Before anything starts, the plan is checked: an unknown key, a number out of range, a bad
SPEC, an option the board's command does not take, or a board that has not joined is one
line naming the board, exit status 2, and no
board starts and nothing is written. Each board runs `edgemt run` into its own DB
(`$XDG_DATA_HOME/edgemt/fleet/<fleet id>-<board>.db` there: the first copy), and the head
writes the rows as they come (every 0.5 s) into `--db`: each board's run is one run of the
fleet DB, whose `params` holds `fleet` = {board, run (its id on the board), db, plan,
id (the fleet's: this `fleet run`), clock_offset_s, rtt_s, launched_at, and with `sync_start`
measure_at and measured_at} (`json_extract(params, '$.fleet.board')` is the board
of every row). Before the runs start, the head measures each board's clock offset (its wall
clock minus the head's, from the shortest of 5 round trips: known to within half the round
trip `rtt_s`); `launched_at` is when the board started its run, on the head's clock. With
`sync_start`, every board starts its run at one instant of the head's clock (2 s after the
offsets are known, each board waiting by its own clock corrected by its offset), and the
output says `start_skew_s`, how far apart the launches were. The boards' *measured phases*
start together too: each `run` board gets `edgemt run --measure-at` of one instant of the
head's clock, `warmup` seconds after that start, converted to the board's clock with its
offset; its tenants load and warm up before it, and its measured phase starts on it (the
board's window grid is laid so that a window edge falls there). `measure_at` and, once the
board's run has ended, `measured_at` (where its measured phase began, on the head's clock)
are in each board's row of the output and in `params.fleet`; `measure_skew_s` is how far
apart the measured phases began (within the round trips when every board was warm in time;
a board still warming at the instant starts at its next window edge and its run says
`late_s`). Sweeps and the other experiments get the synchronised start only. A board that leaves
mid-plan keeps the windows the head has, and its run is marked `interrupted` with a
`board_lost` event. With `rejoin`, the head waits that long for the board to join again
(its old Ray node declared dead, a node with its `board:NAME` listed); then a new actor
there attaches to the run that went on on the board and the head copies what it lacks,
each row once (it asks for the rows past its last ids), with a `board_back` event; the run
then ends with its status on the board. A head that dies mid-plan (killed, its machine
rebooted) leaves the boards' runs going (they are the first copy); `edgemt fleet run PLAN
--db SAME.db` again picks that fleet up instead of starting the runs again: the latest
fleet of the same plan file in the DB whose head did not end (`params.fleet.head_done`
missing) and whose head is gone (its `controller_pid`; a head still running is refused in
one line) keeps its fleet id, a new actor on each of its boards attaches to the run there
(running or finished), and the head copies what the fleet DB lacks, each row once (what a
head has copied, its cursors and ids, is kept in `params.fleet.copied` with the rows), with
a `head_back` event; a board of the plan that had no run yet starts one. A plan whose head
ended (done, boards lost, Ctrl-C) starts a new fleet. Ctrl-C on the head stops every board's run (exit status 130). `edgemt fleet status --db
FLEET.db` (read-only, no Ray) gives each board's run: its status, tenants, windows and
images so far, and the last window's rate (the images of the last grid slot every tenant
reported in, over its length). Exit
status 3 when a board's run failed or a board was lost.

Comparing the boards (the study's Table II): `edgemt report --db FLEET.db` (no RUN, the
latest run a board's; or `--fleet ID` for an earlier fleet in the same DB) prints one row
per board of the fleet: its model and host (its fingerprint), run, tenants, the seconds
measured, total throughput, batch latency p50/p99, CPU %, memory % and MB, power and J/img
where power was measured, each over the board's measured phase as defined in
docs/experiments.md ("A board's row"); `--json` gives the same numbers. `edgemt correlate
--db FLEET.db` gives Pearson r per board and over every board's window slots together.
`edgemt report RUN` is still one board's run.
"""


def main():
    out = [INTRO]
    for path, parser in walk_parsers(build_parser(), ["edgemt"]):
        buf = io.StringIO()
        with redirect_stdout(buf):
            parser.print_help()
        out.append(f"## `{' '.join(path)}`\n\n```\n{buf.getvalue().rstrip()}\n```\n")
    out.append(FLEET_PLAN)
    Path(__file__).with_name("cli.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
