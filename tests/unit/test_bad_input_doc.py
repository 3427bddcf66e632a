"""docs/bad-input.md is the bad-input table (tests/bad_input_cases.py) as written by
docs/make_bad_input_md.py, and the README gives its count of cases."""
import importlib.util
from pathlib import Path

from bad_input_cases import CASES, SETUPS, case_id

ROOT = Path(__file__).resolve().parents[2]


def _maker():
    spec = importlib.util.spec_from_file_location("make_bad_input_md", ROOT / "docs" / "make_bad_input_md.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_doc_is_the_table():
    assert (ROOT / "docs" / "bad-input.md").read_text() == _maker().render(), \
        "docs/bad-input.md differs from tests/bad_input_cases.py: run .venv/bin/python docs/make_bad_input_md.py"


def test_readme_gives_the_count():
    assert f"{len(CASES)} bad inputs and faults" in (ROOT / "README.md").read_text()


def test_the_table_is_sound():
    ids = [case_id(i, c) for i, c in enumerate(CASES)]
    assert len(set(ids)) == len(ids)
    for c in CASES:
        assert set(c.setup) <= set(SETUPS), c
        assert c.db in ("seeded", "none", "run", "read"), c
        assert c.exit != 2 or c.line, c  # a refusal always says why
        assert "Traceback" not in c.line
    keys = [(tuple(c.argv), c.config, c.action, c.setup) for c in CASES]
    assert len(set(keys)) == len(keys), "a case is in the table twice"
