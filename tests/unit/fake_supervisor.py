"""A stand-in Supervisor for unit tests of the measuring code (runners/measure.py,
runners/experiments/common.py): tenants whose windows follow a given per-slot series,
produced on the real clock as time passes, so ``measure`` sees them arrive as it would
from runner children. End to end, tests/oracle/ drives the real Supervisor instead."""
import time
from types import SimpleNamespace

from storage.aggregate import Window
from runners.spec import TenantSpec


class FakeTenant:
    def __init__(self, tid, images, batches=None, batch=1):
        self.id = tid
        self.status = "running"
        self.error = None
        self.windows = []
        self.batch = batch
        self.group = SimpleNamespace(id=1)
        self.spec = TenantSpec("mobilenet_v2", "torch", "cpu", batch, 1, "process")
        self.weights, self.moved_from = "pretrained", None
        self._images = images  # callable(slot k) -> images, or a list (last value repeats)
        self._batches = batches

    # what runners/measure.py reads of a Tenant (runners/supervisor.py, window_log.py)
    @property
    def recent(self):
        return self.windows[-16:]

    @property
    def last_window(self):
        return self.windows[-1] if self.windows else None

    def windows_between(self, since=None, until=None):
        return [w for w in self.windows if (since is None or w.t_start >= since - 1e-3)
                and (until is None or w.t_end <= until + 1e-3)]

    def totals(self, since=None, until=None):
        ws = self.windows_between(since, until)
        if not ws:
            return 0, 0, None, None
        return sum(w.images for w in ws), sum(w.batches for w in ws), ws[0].t_start, ws[-1].t_end

    def images_at(self, k):
        if callable(self._images):
            return self._images(k)
        return self._images[min(k, len(self._images) - 1)]

    def batches_at(self, k):
        if self._batches is None:
            return self.images_at(k) // self.batch
        return self._batches(k) if callable(self._batches) else self._batches


class FakeSupervisor:
    """Windows of ``window_s`` seconds on the grid from the construction; tenants warm at once.
    A tenant's series starts at the first window edge after the first ``now()`` (where
    ``measure`` starts its phase), so a loaded machine does not shift it."""

    def __init__(self, tenants, window_s=0.05):
        self.window_s = window_s
        self.t0 = time.monotonic()
        self.tenants = {t.id: t for t in tenants}
        self._slot = 0
        self._origin = None

    def all_tenants(self):
        return list(self.tenants.values())

    def now(self):
        t = time.monotonic() - self.t0
        if self._origin is None:
            self._origin = int(t / self.window_s) + 1
        while (self._slot + 1) * self.window_s <= t:  # every whole window so far is reported
            k = self._slot
            for ten in self.tenants.values():
                if ten.status == "running":
                    ten.windows.append(Window(round(k * self.window_s, 6), round((k + 1) * self.window_s, 6),
                                              ten.images_at(max(0, k - self._origin)),
                                              ten.batches_at(max(0, k - self._origin)), {}))
            self._slot += 1
        return t
