"""A placement is checked once on the way to a start: the CLI's ``check_all`` (or the UI's
add and move forms) checks it, and the Supervisor's ``add_group`` / ``move``, which check
what reaches them, find it already checked instead of probing and listing devices again."""
import pytest

from runners.errors import BadInput
from runners.placement import PlacementChecker
from runners.spec import parse_spec

HELLO = {"ev": "hello", "devices": ["cpu"], "framework_version": "0"}


def counting_checker(edgetpus=("usb:0",)):
    calls = {"probe": 0, "edgetpu": 0}

    def prober(fw, python):
        calls["probe"] += 1
        return HELLO

    def lister():
        calls["edgetpu"] += 1
        return [f"edgetpu:{e}" for e in edgetpus]

    checker = PlacementChecker(cfg={}, edgetpu_lister=lister, prober=prober)
    checker.python_for = lambda fw: "/usr/bin/python3"
    return checker, calls


def test_a_checked_placement_is_not_checked_again():
    checker, calls = counting_checker()
    spec = parse_spec("mobilenet_v2,framework=tflite,resource=edgetpu:usb:0")
    checker.check_all([spec])
    assert calls["edgetpu"] == 1
    after_cli = dict(calls)
    # what add_group does with the same placement, at another count or batch
    checker.check(spec.with_changes(count=3, batch=4))
    assert calls == after_cli
    # another placement is checked
    checker.check(parse_spec("mobilenet_v2,framework=tflite"))
    assert calls["probe"] == after_cli["probe"] + 1


def test_a_placement_that_failed_is_checked_again():
    checker, calls = counting_checker(edgetpus=())
    spec = parse_spec("mobilenet_v2,framework=tflite,resource=edgetpu")
    for _ in range(2):
        with pytest.raises(BadInput, match="no EdgeTPU was found"):
            checker.check(spec)
    assert calls["edgetpu"] == 2
