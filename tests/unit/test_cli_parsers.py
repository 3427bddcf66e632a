"""The UI's short parser (top-level options only) must parse exactly what the full one does."""
import pytest

from tui.cli import ArgumentError, build_parser, build_ui_parser, only_ui_options

UI_ARGVS = [[], ["--new"], ["--keep-running"], ["--follow", "3"], ["--follow=3"], ["--db", "/tmp/x.db", "--new"],
            ["--db=/tmp/x.db", "--keep-running", "--new"]]


@pytest.mark.parametrize("argv", UI_ARGVS)
def test_ui_options_alone_parse_the_same_with_the_short_parser(argv):
    assert only_ui_options(argv)
    assert vars(build_ui_parser().parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["run", "--tenant", "mobilenet_v2"], ["-h"], ["--help"], ["--db"], ["--follow"],
                                  ["devices"], ["--new", "replay"], ["--db", "x.db", "export", "--out", "a.csv"],
                                  ["--nwe"], ["--follow", "2", "diff", "1", "2"]])
def test_anything_else_goes_to_the_full_parser(argv):
    assert not only_ui_options(argv)


def test_a_bad_follow_value_is_one_line_from_either_parser():
    for parser in (build_ui_parser(), build_parser()):
        with pytest.raises(ArgumentError, match="--follow.*'x'"):
            parser.parse_args(["--follow", "x"])
