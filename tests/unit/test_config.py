import pytest

from runners import config
from runners.errors import BadInput


def test_defaults_when_missing(tmp_path):
    values = config.load(tmp_path / "none.toml")
    assert values["window_s"] == 1.0 and values["envs"] == {}


@pytest.mark.parametrize("text,words", [
    ('window_s = "fast"', "'window_s'"),
    ("theme = 3", "'theme'"),
    ("sample_hz = -2", "-2 is not positive"),
    ("window_s = nan", "nan is not a finite number"),
    ("window_s = inf", "inf is not a finite number"),
    ("sample_hz = 1e9", "is out of range; give samples a second from 0.01 to 100"),
    ("step = 100000", "100000 is out of range"),
    ("[ui]\nx = 1", "unknown key 'ui'"),
    ("[envs]\ncaffe = '/usr/bin/python3'", "[envs] unknown framework 'caffe'"),
    ("colour = 1", "unknown key 'colour'"),
    ("envs = 3", "[envs]"),
    ("window_s = ", "not valid TOML"),
    ("step = true", "'step'"),
])
def test_wrong_types_name_the_key(tmp_path, text, words):
    p = tmp_path / "config.toml"
    p.write_text(text + "\n")
    with pytest.raises(BadInput) as err:
        config.load(p)
    assert words in str(err.value)


def test_update_round_trip(tmp_path):
    p = tmp_path / "c" / "config.toml"
    config.update(p, theme="edgemt-light", envs={"torch": "/usr/bin/python3"})
    v = config.load(p)
    assert v["theme"] == "edgemt-light" and v["envs"] == {"torch": "/usr/bin/python3"}
