"""Writes docs/bad-input.md from the bad-input table, tests/bad_input_cases.py
(run: .venv/bin/python docs/make_bad_input_md.py).

tests/unit/test_bad_input_doc.py fails when the doc and the table differ, so the doc
lists exactly the cases tests/functional/test_bad_input.py runs.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bad_input_cases import CASES, T  # noqa: E402

SECTIONS = {
    "cli": "Commands and flags",
    "numbers": "Numbers on the command line",
    "spec": "SPECs (`--tenant`)",
    "images": "Image folders (`--images`)",
    "db": "DB files (`--db`, `merge`)",
    "config": "config.toml (`$XDG_CONFIG_HOME/edgemt/config.toml`)",
    "export": "export and report",
    "round2": "A second round: as a new user, and trying to break it",
    "streams": "Closed streams, interruptions, faults (real runs)",
}

FILES = {
    "{home}": "DIR", "{db}": "DIR/edgemt.db", "{T}": "$T",
    "{notes_txt}": "notes.txt", "{empty_dir}": "empty/", "{empty_file}": "empty.db (0 bytes)",
    "{junk_images}": "junk/", "{bomb_images}": "bomb/", "{deep_images}": "deep/ (deep/set/cat/1.png, deep/set/dog/2.png)",
    "{hidden_images}": "hidden/ (only .a.png)", "{other_db}": "other.db (another program's, with a `runs` table)",
    "{other_db_tables}": "people.db (tables people, notes; user_version 0)",
    "{app_db}": "app.db (application id 0x5042)", "{newer_db}": "future.db (edgemt's id, user_version 99)",
    "{cut_db}": "cut.db (an SQLite file cut after 6000 bytes)", "{empty_edgemt_db}": "empty-edgemt.db (no runs)",
    "{edgetpu_tflite}": "m_edgetpu.tflite (holds edgetpu-custom-op)",
    "{weird_db}": "'we?ird#%.db' (an edgemt DB)", "{loop}": "loop1 (-> loop2 -> loop1)", "{tflite_model}": "mobilenet_v2_int8.tflite",
}

SETUP_NOTES = {"config_is_dir": "config.toml a folder", "config_not_utf8": "config.toml not UTF-8"}

ACTIONS = {
    "close_stdout": "stdout closed by its reader before the first byte",
    "stdout_full": "stdout is `/dev/full`",
    "sigint": "SIGINT (Ctrl-C) once a window is stored",
    "sigint_in_check": "SIGINT (Ctrl-C) while the model file is checked",
    "sigterm": "SIGTERM once a window is stored",
    "segv_runner": "SIGSEGV to the runner once a window is stored",
}

INTRO = f"""# Bad input: what edgemt answers

Every bad input and fault we tried, and what `edgemt` answers. This page is generated
from the table `tests/bad_input_cases.py` by `docs/make_bad_input_md.py`; every row is a
test (`tests/functional/test_bad_input.py`) and `tests/unit/test_bad_input_doc.py` checks
this page matches the table. **{len(CASES)} cases.**

Refused inputs follow one rule: **one line on stderr naming the bad value and what is
accepted, exit status 2, no traceback, nothing started, nothing written**: the test
checks every file in its folder (an edgemt DB with one run, another program's DB, the
config) keeps its bytes and no file appears (column "kept"). A database that is not
edgemt's is never touched: edgemt recognises its own by `PRAGMA application_id` (0x45444D54,
"EDMT") and schema version, and writes only to a new file or to its own DB; commands that
only read open it read-only. Other exit statuses (docs/cli.md): 1 standard output cannot be
written, 3 a tenant failed, 130 stopped by the user (what was measured is stored),
141 standard output closed by its reader (quiet, as a command killed by SIGPIPE).

Numbers: every number has a finite range (docs/cli.md), checked where it is parsed, on the
command line and in config.toml alike (`runners/limits.py`); `nan`, `inf` and numbers that
overflow to infinity are refused; whole numbers are plain ASCII digits (`1_0`, full-width
`２`, `2.0`, `1e2`, `0x10`, `+3` are refused); `threads` goes up to 4 a core of this machine.

In the table, `DIR` is the test's folder, `$T` is `{T}`, `...` stands for the rest of a
line. "was:" in a note says what edgemt did before it was fixed.
"""

OUTRO = """
## Also tested elsewhere

- Image files inside a usable folder are not refused: unusable ones (corrupt JPEG,
  truncated PNG, zero-byte, a 20000x20000 PNG header, a text file named `.jpg`) are
  **skipped and counted** (`tenants.images_skipped`), usable ones in any mode (greyscale,
  CMYK, 16-bit) are **accepted and converted** to RGB:
  `tests/reliability/test_bad_input_more.py::test_image_folder_skips_unusable_files_and_converts_the_rest`.
- torch `file=` a text file, and a TorchScript model traced for 64x64 given `size=96`: refused
  before anything starts (`file=... does not run on torch@cpu: ...`, exit 2):
  `tests/reliability/test_bad_input_more.py`.
- A torch `file=` pickle whose unpickling would run code fails its tenant (`weights_only`), the
  code never runs: `tests/reliability/test_safety.py`.
- Model files that load and then fail at their first call (a TorchScript module that raises, a
  TFLite GATHER out of bounds) fail their tenant with the reason, the run goes on:
  `bench/soak.py`, `tests/reliability/test_soak.py`.
- A DB the disk refuses at the start (exit 2) or fills during the run (exit 4):
  `tests/reliability/test_disk_full.py`.
- A UI run and `--keep-running` losing their terminal: `tests/reliability/test_lost_terminal.py`.
- Why a runner ended, for every signal and exit status: `tests/unit/test_exit_reasons.py`.

The caps on `count` (256 processes, 4096 threads) stop a typo from forking a board to death:
one interpreter per tenant costs 100-500 MB, and the study's largest level (1,100 tenants on
a USB EdgeTPU) ran as threads.
"""


def _shown(arg: str) -> str:
    arg = arg.replace("a" * 300, "aaa...aaa (300 a's)")
    for k, v in FILES.items():
        arg = arg.replace(k, v)
    return arg


def _quote(argv) -> str:
    parts = []
    for a in argv:
        a = _shown(a)
        parts.append(a if a and all(c.isalnum() or c in "-_=,./:@$" for c in a) else repr(a))
    return " ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    out = [INTRO]
    n = 0
    for section, title in SECTIONS.items():
        rows = [(i, c) for i, c in enumerate(CASES) if c.section == section]
        if not rows:
            continue
        out.append(f"## {title}\n")
        out.append("| # | `edgemt` ... | edgemt answers (first line of stderr) | exit | kept | note |")
        out.append("|---|---|---|---|---|---|")
        for i, c in rows:
            n += 1
            what = f"`{_quote(c.argv)}`" if c.argv else "(no arguments)"
            if c.config:
                what += " with config `" + _shown(c.config.strip()).replace("\n", "; ") + "`"
            for k, v in c.env.items():
                what += f" with `{k}={_shown(v)}`"
            for name in c.setup:
                if name.startswith("config_"):
                    what += f" with {SETUP_NOTES[name]}"
            if c.action:
                what += f", {ACTIONS[c.action]}"
            answer = f"`{_shown(c.line)}`" if c.line else "(nothing)"
            if c.stored:
                answer += f"; stored: `{c.stored[0]}` = `{_shown(str(c.stored[1][0]))}`"
            kept = {"seeded": "yes", "none": "no DB made", "run": "run stored", "read": "DB read only"}[c.db]
            out.append(f"| {i + 1} | {_cell(what)} | {_cell(answer)} | {c.exit} | {kept} | {_cell(c.note)} |")
        out.append("")
    assert n == len(CASES), "a case has a section the doc does not list"
    out.append(OUTRO)
    return "\n".join(out)


def main():
    (ROOT / "docs" / "bad-input.md").write_text(render())


if __name__ == "__main__":
    main()
