"""``RunLog``: what the supervisor needs of the store it records a run to.

A ``typing.Protocol``: ``storage.store.Store`` is one (tests/unit/test_run_log.py checks
it), and a test may give the Supervisor any other object that has these methods. Written
down here, in the room that uses it, so the supervisor no longer asks the store what it
can do (``hasattr``) and storage needs nothing of runners.
"""
from typing import Optional, Protocol, runtime_checkable


@runtime_checkable
class RunLog(Protocol):
    """Writes of one run: tenants, their windows, events, the run's fingerprint; reads of a
    tenant's older windows (the supervisor keeps only the recent ones in memory)."""

    def add_tenants(self, run_id: int, rows: list) -> list:
        """Inserts tenant rows (dicts of tenant fields); returns their ids in order."""

    def add_tenant(self, run_id: int, **fields) -> int:
        """Inserts one tenant row; returns its id."""

    def update_tenant(self, tenant_id: int, **fields) -> None:
        """Changes fields of a tenant's row (status, error, ended, batch...)."""

    def add_window(self, tenant_id, t_start, t_end, images, batches, batch, hist) -> None:
        """Records one window of a tenant."""

    def add_windows(self, rows) -> None:
        """Records closed-loop windows, each ``(tenant_id, t_start, t_end, images, batches,
        batch, hist)``."""

    def add_event(self, run_id: int, t: float, kind: str, tenant: Optional[int] = None,
                  detail: Optional[dict] = None) -> None:
        """Records one event of the run (docs/schema.md, events)."""

    def update_run_host(self, run_id: int, key: str, value) -> None:
        """Sets one key of the run's fingerprint (``runs.host``)."""

    def windows_between(self, tenant_id: int, since: Optional[float] = None,
                        until: Optional[float] = None) -> list:
        """One tenant's recorded windows inside ``[since, until]`` (None: open)."""

    def flush(self) -> None:
        """Writes what is pending now."""
