"""The ``spec`` object of the runner protocol's ``start`` command, built from a TenantSpec.

Built here and nowhere else: the supervisor sends it to start a tenant, the placement
checker passes it to ``--check`` to load a user's model file once. Its keys are
``runners/child/wire.py``'s ``SPEC_KEYS`` (the child side of the protocol, which imports
nothing of edgemt and so cannot build it from a TenantSpec itself).
"""
from runners.catalog import CATALOG
from runners.child import wire
from runners.spec import TenantSpec

# the keys that belong to a run (its window grid, images, warm-up), not to the tenant: a
# --check has no run, so its spec leaves them out and the child takes its defaults
RUN_KEYS = ("images", "include_transfer", "window_s", "epoch", "warmup_batches")


def child_spec(spec: TenantSpec, *, batch: int, models_dir: str, stream: int = 0, **run) -> dict:
    """The start command's spec for one tenant of ``spec`` at ``batch``; ``run`` gives every
    one of RUN_KEYS (a tenant of a run) or none of them (a check). ``stream``: the tenant's
    index in its group, added to the seed, so the group's poisson tenants are independent
    streams and a run with the same SPEC has the same ones."""
    if run and set(run) != set(RUN_KEYS):
        raise TypeError(f"child_spec: give every run key {RUN_KEYS} or none; got {sorted(run)}")
    out = {
        "model": spec.model if spec.model in CATALOG else None,  # None: only file= names the model
        "framework": spec.framework, "resource": spec.resource, "batch": batch, "threads": spec.threads,
        "file": spec.file, "size": spec.input_size, "models_dir": str(models_dir), "autotune": spec.autotune,
        "precision": spec.precision,
    }
    # open loop (runners/child/arrivals.py); rate None: closed loop
    out.update(rate=spec.rate, arrival=spec.arrival, trace=spec.trace, queue=spec.queue,
               seed=(spec.seed or 0) + stream if spec.open_loop else None,
               slo_s=None if spec.slo_ms is None else spec.slo_ms / 1000.0, rt=spec.rt)
    out.update(run)
    assert set(out) <= set(wire.SPEC_KEYS), sorted(set(out) - set(wire.SPEC_KEYS))
    return out
