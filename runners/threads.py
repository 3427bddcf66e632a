"""Intra-op threads of the tenants against the CPU cores: saying when they oversubscribe.

Two torch tenants with the default threads on a 2-core board each start a pool of 2
intra-op threads: 4 threads on 2 cores, and each runs at a fraction of its speed alone.
That can be a true finding, but the user must see why. ``oversubscription`` adds up the
pools of the CPU tenants and, when they exceed the cores, returns the figure and the
advice that the summaries, ``--json``, the ``results`` rows and the UI show.

How many threads a tenant's pool has (docs/experiments.md, "Threads"):

- ``threads=N`` in its SPEC: N.
- Otherwise the framework's default, which the controller knows without asking the
  child: torch (``torch.get_num_threads()``), tensorflow (intra-op 0 = one per core) and
  mxnet (OpenMP) start one thread per core; tflite (LiteRT, ``num_threads`` unset)
  runs an interpreter on 1 thread (measured: CPU time <= wall time with the default);
  onnxruntime starts one intra-op thread per core in every session.
- torch, tensorflow and mxnet pools are process-wide: the tenants of one ``thread``
  isolation group share one pool; every tflite interpreter and onnxruntime session has its own.

Only tenants on ``cpu`` count: a GPU's or an EdgeTPU's tenant computes on its device.
"""
import os

PROCESS_WIDE = ("torch", "tensorflow", "mxnet")
ONE_PER_CORE = ("torch", "tensorflow", "mxnet", "onnxruntime")


def cpu_cores() -> int:
    """The cores this controller (and its children, which inherit its affinity) may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(framework: str, cores: int) -> int:
    return cores if framework in ONE_PER_CORE else 1


def _get(t, k):
    if isinstance(t, dict):
        return t.get(k)
    if k == "group":
        g = getattr(t, "group", None)
        return getattr(g, "id", g)
    return getattr(getattr(t, "spec", None), k, None)


def intra_op_threads(tenants, cores: int) -> int:
    """Threads of the intra-op pools of the CPU tenants (objects with ``spec`` and ``group``,
    or dicts with framework, resource, isolation, threads, group)."""
    pools = {}
    for n, t in enumerate(tenants):
        fw = _get(t, "framework")
        if _get(t, "resource") != "cpu":
            continue
        size = _get(t, "threads") or default_threads(fw, cores)
        shared = fw in PROCESS_WIDE and _get(t, "isolation") == "thread"
        pools[("group", _get(t, "group")) if shared else ("tenant", n)] = size
    return sum(pools.values())


def oversubscription(tenants, cores: int = None):
    """``{"threads", "cores", "message", "advice"}`` when the CPU tenants' intra-op threads
    exceed the cores, else None."""
    cores = cores or cpu_cores()
    tenants = list(tenants)
    n = intra_op_threads(tenants, cores)
    if n <= cores:
        return None
    cpu = [t for t in tenants if _get(t, "resource") == "cpu"]
    per = max(1, cores // max(1, len(cpu)))
    message = f"{n} intra-op threads on {cores} cores"
    if all((_get(t, "threads") or default_threads(_get(t, "framework"), cores)) <= per for t in cpu):
        # threads= cannot go lower: more tenants than cores is what the level measures
        advice = f"oversubscribed: {message} (more CPU tenants than cores, each on threads={per})"
    else:
        advice = (f"oversubscribed: {message}; the tenants slow each other down. Give each tenant "
                  f"threads={per} (e.g. --tenant mobilenet_v2,threads={per}) to measure without it")
    return {"threads": n, "cores": cores, "message": message, "advice": advice}
