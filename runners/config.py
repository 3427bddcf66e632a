"""config.toml: the theme, defaults and chosen framework interpreters, with type and range checks.

A wrong type, a number out of its range (runners/limits.py: the same ranges as on the
command line), NaN or infinity, or an unknown key in any section is one ``BadInput``
naming the key and what it needs, so a hand-edited file never produces a traceback and
never starts a run that cannot end.
"""
from pathlib import Path

try:
    import tomllib  # novermin (the except below is the fallback for 3.8-3.10)
except ImportError:  # Python < 3.11 (JetPack 5 and Ubuntu 20.04 ship 3.8): the same parser as a package
    import tomli as tomllib

from runners import limits, paths
from runners.catalog import FRAMEWORKS
from runners.errors import BadInput

# key -> (python type(s), default, description, range or None)
SCHEMA = {
    "theme": (str, "edgemt-dark", "UI theme name", None),
    "window_s": ((int, float), 1.0, "window length in seconds", limits.WINDOW_S),
    "sample_hz": ((int, float), 2.0, "resource sampling rate", limits.SAMPLE_HZ),
    "db": (str, "", "SQLite file (empty: the data folder's edgemt.db)", None),
    "step": (int, 4, "the larger concurrency step of the UI", limits.STEP),
}
ENV_TABLE = "envs"  # [envs] FRAMEWORK = "/path/to/python"


def load(path: Path = None) -> dict:
    """The config as a dict with defaults filled in; a missing file is the defaults."""
    path = Path(path) if path else paths.config_file()
    values = {k: spec[1] for k, spec in SCHEMA.items()}
    values[ENV_TABLE] = {}
    if not path.exists():
        return values
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise BadInput(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    for key, value in raw.items():
        if key == ENV_TABLE:
            values[ENV_TABLE] = _envs(path, value)
            continue
        if key not in SCHEMA:
            raise BadInput(f"config {path}: unknown key {key!r}; known keys: {', '.join(sorted(SCHEMA) + [ENV_TABLE])}")
        types, _, what, lim = SCHEMA[key]
        if isinstance(value, bool) or not isinstance(value, types):
            want = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            raise BadInput(f"config {path}: key {key!r} ({what}) must be {want}, not {type(value).__name__} {value!r}")
        if lim is not None:
            try:
                if len(lim) == 3:
                    value = limits.real(value, *lim)
                else:
                    value = limits.whole(value, *lim)
            except ValueError as exc:
                raise BadInput(f"config {path}: key {key!r} ({what}): {exc}") from None
        values[key] = value
    return values


def _envs(path: Path, value) -> dict:
    """[envs]: known framework names mapped to interpreter paths (strings)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadInput(f"config {path}: [{ENV_TABLE}] must map framework names to interpreter paths (strings)")
    for fw in value:
        if fw not in FRAMEWORKS:
            raise BadInput(f"config {path}: [{ENV_TABLE}] unknown framework {fw!r}; known: {', '.join(FRAMEWORKS)}")
    return dict(value)


def save(values: dict, path: Path = None) -> None:
    """Writes the config (only keys that differ from the defaults, and [envs])."""
    import tomli_w

    path = Path(path) if path else paths.config_file()
    out = {k: v for k, v in values.items() if k in SCHEMA and v != SCHEMA[k][1]}
    if values.get(ENV_TABLE):
        out[ENV_TABLE] = dict(values[ENV_TABLE])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(out))


def update(path: Path = None, **changes) -> dict:
    values = load(path)
    for key, value in changes.items():
        if key == ENV_TABLE:
            values[ENV_TABLE].update(value)
        else:
            values[key] = value
    save(values, path)
    return values
