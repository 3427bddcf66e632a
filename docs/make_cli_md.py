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

Exit status: **0** success, **1** internal error, **2** bad input (one line on stderr
naming the bad value and what is accepted; nothing started; an existing DB untouched),
**3** completed but at least one tenant failed, **4** the DB could not be written (what
was written before is kept), **130** stopped by Ctrl-C (what was measured is kept).

A **SPEC** (`--tenant`) is `key=value` pairs joined by commas, the first item may be the
bare model name: `model`, `framework` (torch, tensorflow, tflite, mxnet), `resource`
(cpu, cuda:N, edgetpu, edgetpu:usb:N, edgetpu:pci:N), `batch` (1-4096), `count` (up to 256
processes or 4096 threads), `isolation` (process, thread), `threads` (intra-op threads),
`file` (a model file: TorchScript or state dict for torch, .tflite / _edgetpu.tflite,
.keras), `size` (input side of a `file=` model), `autotune` (mxnet: cuDNN auto-tune on/off).

This page is generated from the parser by `docs/make_cli_md.py`.
"""


def main():
    out = [INTRO]
    for path, parser in walk_parsers(build_parser(), ["edgemt"]):
        buf = io.StringIO()
        with redirect_stdout(buf):
            parser.print_help()
        out.append(f"## `{' '.join(path)}`\n\n```\n{buf.getvalue().rstrip()}\n```\n")
    Path(__file__).with_name("cli.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
