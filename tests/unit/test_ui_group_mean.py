"""The UI's group mean at scale (tui/app_state.level_throughput_of, issue 13) is the very
figure storage.aggregate.level_throughput gives on the same windows: tenants that started
at different edges, a missed window, a paused one, one more window than the UI keeps."""
import random

from storage.aggregate import level_throughput
from tui import messages as msg
from tui.app_state import KEEP, RunState, level_throughput_of


def test_the_group_mean_is_level_throughput():
    rng = random.Random(7)
    state = RunState()
    for tid in range(1, 9):
        state.on_tenant(msg.TenantChanged(tid, 1, "m", "torch", "cpu", 1, "thread", 1, "running"))
    for tid in range(1, 9):
        first = rng.randrange(0, 5)  # started at different edges
        for k in range(first, KEEP + 12):
            if tid == 3 and k in (10, 11):
                continue  # paused for two windows
            w = 0.5 if tid == 5 else 1.0  # one tenant on another grid
            state.on_window(msg.WindowItem(tid, k * w, (k + 1) * w, rng.randrange(0, 40), 5, 1, {}))
    recs = list(state.tenants.values())
    assert all(len(r.windows) == KEEP for r in recs)  # more came than the UI keeps
    assert all(r.win_images == sum(w.images for w in r.windows) for r in recs)
    want = level_throughput({r.id: list(r.windows) for r in recs})
    assert want > 0 and abs(level_throughput_of(recs) - want) < 1e-9
    assert abs(state.groups()[0].mean - want) < 1e-9
    # no common span: 0.0, as level_throughput
    state2 = RunState()
    for tid, t0 in ((1, 0.0), (2, 100.0)):
        state2.on_tenant(msg.TenantChanged(tid, 1, "m", "torch", "cpu", 1, "thread", 1, "running"))
        state2.on_window(msg.WindowItem(tid, t0, t0 + 1.0, 10, 1, 1, {}))
    apart = list(state2.tenants.values())
    assert level_throughput_of(apart) == level_throughput({r.id: list(r.windows) for r in apart}) == 0.0
