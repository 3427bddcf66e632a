"""The states of a tenant, one enum shared by the supervisor, the measurement and the UI.

A ``str`` Enum: a member equals its string (``TenantState.RUNNING == "running"``), so the
values stored in ``tenants.status`` (docs/schema.md), read back by replay and follow, and
printed in ``--json`` stay the strings they were.
"""
import enum


class TenantState(str, enum.Enum):
    """Where a tenant is in its life (docs/schema.md, ``tenants.status``)."""

    STARTING = "starting"  # its runner is loading the model or warming up
    RUNNING = "running"  # reporting windows
    PAUSED = "paused"  # its group is paused: alive, no batches
    STOPPING = "stopping"  # asked to stop, its runner not yet gone (in memory only, never stored)
    STOPPED = "stopped"  # ended by a command or the end of the run
    FAILED = "failed"  # its runner died, hung or went silent, or the child reported a failure

    def __str__(self) -> str:  # f-strings and print show "running" on every Python version
        return self.value


# alive and counted: what a step, a move or the end of a run acts on
ACTIVE = (TenantState.STARTING, TenantState.RUNNING, TenantState.PAUSED)
