"""The runner protocol: JSON lines between the controller and a runner child.

Commands go to the child's stdin, one JSON object a line, each with ``"cmd"``:

- ``{"cmd": "start", "tenant": ID, "spec": {...}}``: load a model and start a tenant
  (the spec keys are listed in ``SPEC_KEYS``). A thread-isolation child takes any number.
- ``{"cmd": "set_batch", "tenant": ID, "batch": N}``
- ``{"cmd": "set_rate", "tenant": ID, "rate": R or null, "arrival": A, "seed": S, "queue": Q,
  "slo_s": SLO, "trace": PATH, "rt": RT}``: run open-loop at R queries a second (the spec keys of the
  same names), or closed-loop with ``"rate": null``; the schedule starts again
- ``{"cmd": "pause", "tenant": ID}`` / ``{"cmd": "resume", "tenant": ID}``
- ``{"cmd": "stop", "tenant": ID}``; ``{"cmd": "stop"}`` stops every tenant and exits.

Reports come on stdout, one JSON object a line, each with ``"ev"``:

- ``hello``: python, framework, framework_version, runtime, numpy, devices (list of
  resource names the framework can use, e.g. ["cpu", "cuda:0"]), pid.
- ``loaded``: tenant, load_s, weights ("random" | "pretrained" | "file"), note,
  images_used, images_skipped, runtime (which library ran, e.g. "ai_edge_litert").
- ``warm``: tenant, warmup_batches, t (monotonic seconds).
- ``window``: tenant, t0, t1 (monotonic seconds, on the grid epoch + k*window_s),
  images, batches, batch (the batch that ran, after any clamp), hist (sparse latency
  histogram, see latency.py), late (batches counted here that ended just before t0, after
  their own window was sent: every batch is counted exactly once). An open-loop tenant's
  windows also carry its queries: scheduled, dropped (counted in the window of their
  scheduled time), started (of the start), completed (of the end), within (completed within
  slo_s; only with slo_s), queue (queries waiting when the window was reported), lag_sum,
  lag_max (seconds from scheduled to actual start), lag_hist and qhist (sparse histograms
  of the start lag and of the latency from the scheduled time to the end).
- ``windows``: keys, rows: several windows in one line, the same as one ``window`` event
  per row with the fields ``dict(zip(keys, row))`` (``unpack_windows``). The reporter sends
  a pass's windows so (``encode_windows``: one ``windows`` line per set of keys, so an
  open-loop tenant's rows carry their query fields and a closed-loop one's do not): decoded
  once, 2,000 tenants' windows cost the controller one line a pass instead of 2,000
  (issue 13). A reader takes both forms; a single window may still come as ``window``.
- ``batch_clamped``: tenant, asked, used, reason.
- ``failed``: tenant (None for the whole child), reason.
- ``stopped``: tenant.
- ``log``: message (anything worth the events table that is not a failure).
- ``checked``: input_size (``--check`` mode only: the model file loaded and ran one batch).

Framework noise goes to stderr, which the controller sends to a per-tenant log file.
Python 3.6-compatible, standard library only, no imports of other child modules.
"""
import json

PROTOCOL_VERSION = 2  # 2: ``windows`` (a reporter pass's windows in one line)

COMMANDS = ("start", "set_batch", "set_rate", "pause", "resume", "stop")
EVENTS = ("hello", "loaded", "warm", "window", "windows", "batch_clamped", "failed", "stopped", "log", "checked")

# Keys of the "spec" object of a start command.
SPEC_KEYS = (
    "model",  # catalog name, or None when only file= is given
    "framework",  # torch | tensorflow | tflite | mxnet
    "resource",  # cpu | cuda:N | edgetpu | edgetpu:usb:N | edgetpu:pci:N
    "batch",  # int >= 1
    "threads",  # intra-op threads per tenant, or None for the framework default
    "file",  # path of a user's model file, or None
    "images",  # folder of images, or None for the built-in set
    "include_transfer",  # bool: time the host-to-device copy too
    "window_s",  # float: window length
    "epoch",  # float: monotonic time of the window grid's origin
    "warmup_batches",  # int
    "autotune",  # mxnet only: bool or None (MXNET_CUDNN_AUTOTUNE_DEFAULT)
    "models_dir",  # folder of prepared models (tflite), or None
    "size",  # input side in pixels (catalog models: their own; file= models: the SPEC's size=)
    "precision",  # onnxruntime: fp32 | fp16 | int8, or None for the resource's default
    # open loop (arrivals.py); without "rate" the tenant runs closed-loop
    "rate",  # queries a second (one query = one batch), or None
    "arrival",  # constant | poisson | trace
    "trace",  # path of the trace file (arrival trace): inter-arrival seconds, one a line
    "seed",  # int: the poisson generator's seed
    "queue",  # int: queries that may wait; more are dropped
    "slo_s",  # float or None: a query completed within this latency counts as ``within``
    "rt",  # bool: wait for each slot at real-time priority (slot_wait.py), or None
)

# the open-loop keys of a tenant, which set_rate changes together
OPEN_LOOP_KEYS = ("rate", "arrival", "seed", "queue", "slo_s", "trace", "rt")


def encode(obj):
    """One protocol line (with its newline) for a dict."""
    return json.dumps(obj, separators=(",", ":")) + "\n"


def decode(line):
    """The dict of one protocol line, or None if the line is not protocol JSON."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return obj


def encode_windows(windows):
    """The protocol text (one ``windows`` line for each set of keys, in first-seen order)
    of a list of window dicts. One tenant's windows have one set of keys, so each
    tenant's windows stay in their order."""
    groups = {}  # keys -> rows
    for w in windows:
        keys = tuple(w)
        rows = groups.get(keys)
        if rows is None:
            rows = groups[keys] = []
        rows.append(list(w.values()))
    return "".join(encode({"ev": "windows", "keys": list(keys), "rows": rows}) for keys, rows in groups.items())


def unpack_windows(msg):
    """The window dicts (without ``ev``) of a ``windows`` event."""
    keys = msg.get("keys") or []
    return [dict(zip(keys, row)) for row in msg.get("rows") or []]
