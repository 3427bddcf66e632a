"""One ExitCode enum: its numbers are the ones docs/cli.md promises, and exit_code_for maps
each error the CLI answers to the status the table gives it."""
import errno
import re
from pathlib import Path

from runners.errors import BadInput, Interrupted
from tui.arguments import ArgumentError
from tui.exit_codes import ExitCode, OutputClosed, exit_code_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_codes_are_the_documented_table():
    documented = {int(n) for n in re.findall(r"^\| \*\*(\d+)\*\* \|", DOCS.read_text(), re.M)}
    assert documented == {int(c) for c in ExitCode}
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130, 141]


def test_every_code_says_when_it_is_given():
    docs = [c.__doc__ for c in ExitCode]
    assert all(d and d != ExitCode.__doc__ for d in docs)
    assert len(set(docs)) == len(docs)


def test_exit_code_for_each_error_the_cli_answers():
    assert exit_code_for(BadInput("x")) is ExitCode.BAD_INPUT
    assert exit_code_for(ArgumentError("x")) is ExitCode.BAD_INPUT
    assert exit_code_for(Interrupted("x")) is ExitCode.STOPPED
    assert exit_code_for(KeyboardInterrupt()) is ExitCode.STOPPED
    assert exit_code_for(BrokenPipeError(errno.EPIPE, "Broken pipe")) is ExitCode.PIPE_CLOSED
    assert exit_code_for(OutputClosed(OSError(errno.EPIPE, "Broken pipe"))) is ExitCode.PIPE_CLOSED
    assert exit_code_for(OutputClosed(OSError(errno.ENOSPC, "No space left"))) is ExitCode.INTERNAL
    assert exit_code_for(OSError(errno.ENAMETOOLONG, "File name too long", "x" * 5000)) is ExitCode.BAD_INPUT
    # not the user's fault: a defect, left to propagate with its traceback
    assert exit_code_for(OSError(errno.EIO, "I/O error", "/some/path")) is None
    assert exit_code_for(OSError(errno.EACCES, "Permission denied")) is None  # no path named
    assert exit_code_for(ValueError("bug")) is None


def test_codes_are_ints_for_the_shell():
    assert ExitCode.STOPPED == 130 and isinstance(ExitCode.STOPPED, int)
