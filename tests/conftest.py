"""Shared fixtures: every test gets its own config folder and DB, but the real framework
environments (made by `make test`) stay reachable through an [envs] table in config.toml."""
import pytest

from edgemt_testlib import REAL_DATA_HOME, REAL_ENVS


@pytest.fixture
def edgemt_home(tmp_path, monkeypatch):
    """A private config folder with [envs] naming the real interpreters, and a private DB.
    Prepared models stay in the real data folder (they are a cache)."""
    cfg_home = tmp_path / "config"
    (cfg_home / "edgemt").mkdir(parents=True)
    lines = ["[envs]"] + [f'{fw} = "{py}"' for fw, py in REAL_ENVS.items()]
    (cfg_home / "edgemt" / "config.toml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg_home))
    monkeypatch.setenv("XDG_DATA_HOME", REAL_DATA_HOME)
    monkeypatch.setenv("EDGEMT_DB", str(tmp_path / "edgemt.db"))
    return tmp_path



@pytest.fixture
def oracle_home(edgemt_home, monkeypatch):
    """edgemt_home whose [envs] run the oracle child (tests/oracle/oracle_child.py: batches
    of a known time, the real child protocol) for every framework; an OracleHome, see
    tests/oracle/oracle_env.py. Needs no framework environment."""
    from oracle.oracle_env import OracleHome

    monkeypatch.setenv("XDG_DATA_HOME", str(edgemt_home / "data"))
    return OracleHome(edgemt_home)
