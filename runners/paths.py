"""Where edgemt keeps its files: XDG folders for config, data (DB, envs, models) and cache."""
import os
from pathlib import Path


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "edgemt"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "edgemt"


def config_file() -> Path:
    return config_dir() / "config.toml"


def envs_dir() -> Path:
    return data_dir() / "envs"


def models_dir() -> Path:
    return data_dir() / "models"


def logs_dir() -> Path:
    return data_dir() / "logs"


def default_db() -> Path:
    """--db wins over EDGEMT_DB, which wins over the data folder's edgemt.db."""
    env = os.environ.get("EDGEMT_DB")
    return Path(env) if env else data_dir() / "edgemt.db"
