"""One tenant-state enum: its stored values are docs/schema.md's, and a member is its string
(the DB, --json and the UI's table see the same text as before)."""
import re
from pathlib import Path

from runners import supervisor
from runners.tenant_state import ACTIVE, TenantState
from tui import app_state

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def test_stored_states_are_the_documented_ones():
    row = next(line for line in SCHEMA.read_text().splitlines()
               if line.startswith("| status |") and "`starting`" in line)
    documented = set(re.findall(r"`(\w+)`", row))
    assert documented == {s.value for s in TenantState} - {"stopping"}  # stopping: in memory only


def test_a_state_is_its_string():
    assert TenantState.RUNNING == "running" and f"{TenantState.FAILED}" == "failed"
    assert TenantState("paused") is TenantState.PAUSED
    assert {"running": 1}[TenantState.RUNNING] == 1


def test_supervisor_and_ui_share_one_definition():
    assert supervisor.ACTIVE is ACTIVE and app_state.ACTIVE is ACTIVE
