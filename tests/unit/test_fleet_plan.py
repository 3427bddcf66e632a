"""runners/fleet/plan.py: a plan file's boards and their runs, and one line naming the board
for each problem (checked before any board starts; no Ray needed)."""
import pytest

from runners.errors import BadInput
from runners.fleet.plan import check_boards, load_plan, parse_plan

GOOD = """
duration = 3
window = 0.5
[boards.b1]
tenants = ["mobilenet_v2,framework=tflite,threads=1"]
[boards.pi-4]
tenants = ["mobilenet_v2,framework=tflite", "resnet18"]
duration = 5
"""


def test_a_plan_gives_each_board_its_edgemt_run_arguments():
    plan = parse_plan(GOOD, "p.toml")
    assert list(plan.boards) == ["b1", "pi-4"]
    assert plan.boards["b1"].run_args() == ["run", "--tenant", "mobilenet_v2,framework=tflite,threads=1",
                                            "--duration", "3.0", "--window", "0.5"]
    assert plan.boards["pi-4"].duration == 5.0 and len(plan.boards["pi-4"].tenants) == 2
    check_boards(plan, ["b1", "pi-4", "other"])
    assert not plan.sync_start and parse_plan("sync_start = true\n" + GOOD, "p.toml").sync_start
    assert plan.rejoin == 0.0 and parse_plan("rejoin = 60\n" + GOOD, "p.toml").rejoin == 60.0
    # the synchronised measured phase's warm-up: 30 s unless the plan says
    assert parse_plan("sync_start = true\n" + GOOD, "p.toml").warmup == 30.0
    assert parse_plan("sync_start = true\nwarmup = 12.5\n" + GOOD, "p.toml").warmup == 12.5


@pytest.mark.parametrize("text, words", [
    ("duration = 3\n[boards.b1]\ntenants = ['nosuchmodel']\n", ["board 'b1'", "nosuchmodel"]),
    ("duration = 3\n[boards.b1]\ntenants = ['mobilenet_v2,threads=zero']\n", ["board 'b1'", "threads"]),
    ("duration = 3\n[boards.b1]\ntenants = []\n", ["board 'b1'", "tenants"]),
    ("[boards.b1]\ntenants = ['mobilenet_v2']\n", ["board 'b1'", "duration"]),
    ("duration = 2\nwindow = 5\n[boards.b1]\ntenants = ['mobilenet_v2']\n", ["board 'b1'", "window"]),
    ("duration = 3\n[boards.b1]\ntenants = ['mobilenet_v2']\ncount = 2\n", ["board 'b1'", "'count'"]),
    ("duration = -1\n[boards.b1]\ntenants = ['mobilenet_v2']\n", ["duration", "-1"]),
    ("duration = 'x'\n[boards.b1]\ntenants = ['mobilenet_v2']\n", ["duration"]),
    ("duration = 3\n", ["names no board"]),
    ("rejoin = 7200\n" + GOOD, ["rejoin", "7200"]),
    ("sync_start = 1\n" + GOOD, ["sync_start", "true or false"]),
    ("warmup = 10\n" + GOOD, ["warmup", "needs sync_start = true"]),
    ("sync_start = true\nwarmup = -1\n" + GOOD, ["warmup", "-1"]),
    ("sync_start = true\nwarmup = 'x'\n" + GOOD, ["warmup"]),
    ("duration = 3\nboard = 1\n", ["'board'"]),
    ("duration = 3\n[boards.'a b']\ntenants = ['mobilenet_v2']\n", ["'a b'"]),
    ("duration = = 3\n", ["not valid TOML"]),
])
def test_a_bad_plan_is_one_line_naming_what_is_wrong(text, words):
    with pytest.raises(BadInput) as exc:
        parse_plan(text, "p.toml")
    msg = str(exc.value)
    assert "\n" not in msg and "p.toml" in msg
    for w in words:
        assert w in msg


def test_a_board_that_has_not_joined_is_named(tmp_path):
    plan = parse_plan(GOOD, "p.toml")
    with pytest.raises(BadInput, match="'pi-4' has not joined the fleet \\(joined: b1, b2\\)"):
        check_boards(plan, ["b1", "b2"])


def test_a_missing_plan_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_plan(tmp_path / "nope.toml")


def test_a_board_may_run_an_experiment_with_its_own_options():
    plan = parse_plan('[boards.b1]\ncommand = "sweep batch"\ntenants = ["resnet18"]\nargs = ["--batches", "1,2"]\n',
                      "p.toml")
    assert plan.boards["b1"].run_args() == ["sweep", "batch", "--tenant", "resnet18", "--batches", "1,2"]
    from tui.fleet_cli import check_commands

    check_commands(plan)


@pytest.mark.parametrize("board, words", [
    ('command = "rm"\ntenants = ["resnet18"]', ["board 'b1'", "'rm'", "sweep batch"]),
    ('command = "dmp"\ntenants = ["resnet18"]\nargs = ["--db", "x.db"]', ["board 'b1'", "--db"]),
    ('command = "dmp"\ntenants = ["resnet18"]\nargs = "--max 2"', ["board 'b1'", "args"]),
    ('command = "sweep batch"\ntenants = ["resnet18"]\nargs = ["--repeat", "0"]', ["board 'b1'", "--repeat"]),
    ('command = "tune"\ntenants = ["resnet18"]\nargs = ["--nope"]', ["board 'b1'", "--nope"]),
])
def test_a_bad_command_or_option_names_the_board(board, words):
    from tui.fleet_cli import check_commands

    with pytest.raises(BadInput) as exc:
        check_commands(parse_plan(f"[boards.b1]\n{board}\n", "p.toml"))
    msg = str(exc.value)
    assert "\n" not in msg and "p.toml" in msg
    for w in words:
        assert w in msg


def test_with_selects_every_joined_board_by_its_fingerprint():
    from runners.fleet.plan import expand

    plan = parse_plan('duration = 2\n[boards."with:edgetpu"]\ntenants = ["mobilenet_v2,framework=tflite"]\n'
                      '[boards.nano]\ntenants = ["resnet18"]\n', "p.toml")
    fps = {"coral": {"resources": ["cpu", "edgetpu:usb:0"], "frameworks": ["tflite"]},
           "nano": {"resources": ["cpu", "cuda:0", "edgetpu:usb:0"], "frameworks": ["torch", "tflite"]},
           "pi": {"resources": ["cpu"], "frameworks": ["tflite"]}}
    out = expand(plan, fps)
    assert sorted(out.boards) == ["coral", "nano"]
    assert out.boards["coral"].board == "coral" and out.boards["coral"].tenants == ["mobilenet_v2,framework=tflite"]
    assert out.boards["nano"].tenants == ["resnet18"]  # its own table wins
    assert sorted(expand(parse_plan('duration = 2\n[boards."with:tflite"]\ntenants = ["mobilenet_v2"]\n', "p"),
                         fps).boards) == ["coral", "nano", "pi"]
    with pytest.raises(BadInput, match="board 'with:dla': no joined board has dla"):
        expand(parse_plan('duration = 2\n[boards."with:dla"]\ntenants = ["mobilenet_v2"]\n', "p"), fps)
