"""SPEC strings: what one group of tenants is, parsed and checked without starting anything.

A SPEC is ``key=value`` pairs joined by commas; the first item may be a bare model name:
``mobilenet_v2,framework=torch,resource=cpu,batch=4,count=2,isolation=process,threads=1``.
Every mistake is a BadInput naming the bad value and what would be accepted.
"""
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from runners import limits
from runners.child import arrivals
from runners.catalog import CATALOG, FRAMEWORKS, model_names
from runners.errors import BadInput

KEYS = ("model", "framework", "resource", "batch", "count", "isolation", "threads", "file", "size", "autotune",
        "precision", "procs", "rate", "arrival", "seed", "queue", "slo", "rt")
# open loop (runners/child/arrivals.py): queries a second, and the queries that may wait
RATE = (0.001, 100000.0)
QUEUE = (1, 100000)
SEED = (0, 2 ** 31 - 1)
SLO_MS = (0.001, 3600000.0)
ARRIVAL_FORMS = "constant, poisson, trace:FILE"
MAX_PROCS = 64  # runner processes one thread group may spread over (procs=)
ISOLATIONS = ("process", "thread")
# tflite's invoke() and onnxruntime's InferenceSession.run release the GIL, so their tenants
# scale as threads in one process (docs/design.md); PyTorch, TensorFlow and MXNet tenants are
# faster (and safer) as separate processes.
DEFAULT_ISOLATION = {"torch": "process", "tensorflow": "process", "mxnet": "process", "tflite": "thread",
                     "onnxruntime": "thread"}
# One interpreter per tenant costs 100-500 MB: 256 processes already exceed any edge
# board's memory. Threads share one runtime; the study reached 1,100 tenants on a USB
# EdgeTPU that way. The caps stop a typo from forking a board to death, not an experiment.
MAX_COUNT = {"process": 256, "thread": 4096}
RESOURCE_RE = re.compile(r"^(cpu|cuda:\d+|edgetpu|edgetpu:usb:\d+|edgetpu:pci:\d+|tensorrt:\d+|dla:\d+)$")
RESOURCE_FORMS = "cpu, cuda:N, edgetpu, edgetpu:usb:N, edgetpu:pci:N, tensorrt:N, dla:N"
# onnxruntime's precisions by resource kind (as runners/child/backend_onnxruntime.py): the
# CPU and CUDA providers run the prepared files as they are, TensorRT builds fp16/int8
# engines itself, and a DLA runs no fp32 (its default is fp16).
PRECISIONS = {"cpu": ("fp32", "int8"), "cuda": ("fp32",), "tensorrt": ("fp32", "fp16", "int8"), "dla": ("fp16", "int8")}


def resource_kind(resource: str) -> str:
    return resource.split(":", 1)[0]


def kept_precision(precision, framework: str, resource: str):
    """The precision a group keeps when it moves: its own where the target runs it, else the default."""
    if framework != "onnxruntime" or not precision:
        return None
    return precision if precision in PRECISIONS.get(resource_kind(resource), ()) else None


@dataclass(frozen=True)
class TenantSpec:
    model: str  # catalog name; for file= models without a catalog name, the file's stem
    framework: str = "torch"
    resource: str = "cpu"
    batch: int = 1
    count: int = 1
    isolation: str = ""
    threads: int = None
    file: str = None
    size: int = None  # input side in pixels; from the catalog unless file= needs it
    autotune: bool = None  # mxnet's MXNET_CUDNN_AUTOTUNE_DEFAULT
    precision: str = None  # onnxruntime: fp32, fp16, int8 (None: fp32, fp16 on a DLA)
    # thread isolation: the group's tenants spread over this many runner processes (default
    # 1). One process's Python code runs on one core at a time (the GIL); K processes use K.
    procs: int = None
    # open loop (docs/experiments.md, "Open loop"): None rate and arrival: closed loop
    rate: float = None  # queries a second (one query = one batch); a trace's own mean rate
    arrival: str = None  # constant | poisson | trace (open loop), None (closed loop)
    trace: str = None  # arrival=trace: the file of inter-arrival times (absolute path)
    seed: int = None  # poisson: the generator's seed (None: 0); tenant i of the group uses seed + i
    queue: int = None  # queries that may wait (None: arrivals.DEFAULT_QUEUE); more are dropped
    slo_ms: float = None  # latency bound of a query, from its scheduled arrival
    slo_pct: float = None  # the percentile that must be within slo_ms (99 unless slo=pN:MS)
    rt: bool = None  # True: waits for its slots at real-time priority (runners/child/slot_wait.py)

    @property
    def open_loop(self) -> bool:
        return self.arrival is not None

    @property
    def placement(self) -> str:
        return f"{self.framework}@{self.resource}"

    @property
    def input_size(self) -> int:
        if self.size:
            return self.size
        info = CATALOG.get(self.model)
        return info.input_size if info else 224

    def with_changes(self, **changes) -> "TenantSpec":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        parts = [self.model, f"framework={self.framework}", f"resource={self.resource}", f"batch={self.batch}",
                 f"count={self.count}", f"isolation={self.isolation}"]
        if self.threads:
            parts.append(f"threads={self.threads}")
        if self.file:
            parts.append(f"file={self.file}")
        if self.precision:
            parts.append(f"precision={self.precision}")
        if self.procs:
            parts.append(f"procs={self.procs}")
        if self.arrival == "trace":
            parts.append(f"arrival=trace:{self.trace}")
        elif self.arrival:
            # (a search's SPEC may have an arrival whose rate the search sets: parse_spec)
            parts += ([] if self.rate is None else [f"rate={self.rate:.10g}"]) + [f"arrival={self.arrival}"]
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        if self.queue is not None:
            parts.append(f"queue={self.queue}")
        if self.slo_ms is not None:
            parts.append(f"slo={self.slo_ms:.10g}" if self.slo_pct == 99
                         else f"slo=p{self.slo_pct:.10g}:{self.slo_ms:.10g}")
        if self.rt:
            parts.append("rt=on")
        return ",".join(parts)


def _flag(key: str, raw: str, spec: str) -> bool:
    """A SPEC's on/off value."""
    flag = raw.lower()
    if flag not in ("0", "1", "true", "false", "on", "off"):
        raise BadInput(f"SPEC {spec!r}: {key}={raw!r}; accepted: 0, 1, true, false, on, off")
    return flag in ("1", "true", "on")


def _whole(key: str, raw: str, spec: str, lo: int, hi: int, why: str = "") -> int:
    """A SPEC's whole number: plain ASCII digits within [lo, hi] (runners/limits.py)."""
    try:
        return limits.whole(raw, lo, hi)
    except ValueError:
        kind = "is not a whole number" if not limits._INT_RE.match(raw) else "is out of range"
        raise BadInput(f"SPEC {spec!r}: {key}={raw!r} {kind}; {key} takes a whole number from {lo} to {hi}{why}") \
            from None


def _positive(key: str, raw: str, spec: str, lo: float, hi: float, what: str) -> float:
    """A SPEC's number (plain decimal, e.g. 15 or 2.5) within [lo, hi]."""
    try:
        value = float(raw) if re.match(r"^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$", raw) else math.nan
    except ValueError:
        value = math.nan
    if not lo <= value <= hi:
        kind = "is not a number" if math.isnan(value) else "is out of range"
        raise BadInput(f"SPEC {spec!r}: {key}={raw!r} {kind}; {key} takes {what} from {lo:.10g} to {hi:.10g}")
    return value


def _open_loop(values: dict, spec: str, rate_set_later: bool = False) -> dict:
    """The open-loop fields of a SPEC (rate, arrival, trace, seed, queue, slo_ms, slo_pct, rt),
    checked; ``rate_set_later``: see parse_spec."""
    out = {}
    arrival = values.get("arrival")
    if "rate" in values:
        out["rate"] = _positive("rate", values["rate"], spec, *RATE, "queries a second, a number")
    if arrival is not None:
        if arrival.startswith("trace:"):
            if "rate" in values:
                raise BadInput(f"SPEC {spec!r}: rate= and arrival=trace: the trace sets the times; leave rate= out")
            file = arrival[len("trace:"):]
            path = Path(file).expanduser()
            if not file or not path.is_file():
                raise BadInput(f"SPEC {spec!r}: arrival=trace:{file} is not a file; a trace is a file of "
                               "inter-arrival times in seconds, one a line")
            try:
                gaps = arrivals.read_trace(str(path))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise BadInput(f"SPEC {spec!r}: arrival=trace:{file}: {exc}; a trace is a file of "
                               "inter-arrival times in seconds, one a line") from None
            out.update(arrival="trace", trace=str(path.absolute()), rate=len(gaps) / sum(gaps))
        elif arrival in ("constant", "poisson"):
            out["arrival"] = arrival
        else:
            raise BadInput(f"SPEC {spec!r}: arrival={arrival!r}; accepted: {ARRIVAL_FORMS}")
    elif "rate" in values:
        out["arrival"] = "constant"
    if "arrival" in out and "rate" not in out and not rate_set_later:
        raise BadInput(f"SPEC {spec!r}: arrival={arrival} needs rate= (queries a second), e.g. rate=15")
    for key in ("seed", "queue", "slo", "rt"):
        if key in values and "arrival" not in out and not rate_set_later:
            raise BadInput(f"SPEC {spec!r}: {key}= is for open-loop tenants; give rate= (queries a second) too")
    if "seed" in values:
        arrival = out.get("arrival") or "constant"
        if arrival != "poisson":
            raise BadInput(f"SPEC {spec!r}: seed= seeds arrival=poisson; arrival={arrival} has no randomness")
        out["seed"] = _whole("seed", values["seed"], spec, *SEED)
    if "queue" in values:
        out["queue"] = _whole("queue", values["queue"], spec, *QUEUE)
    if "slo" in values:
        out["slo_pct"], out["slo_ms"] = parse_slo(values["slo"], f"SPEC {spec!r}: slo={values['slo']!r}", "slo")
    if "rt" in values:
        # off is the default: kept out of the spec, so a SPEC reads the same with or without it
        out["rt"] = _flag("rt", values["rt"], spec) or None
    return out


OPEN_LOOP_FIELDS = ("rate", "arrival", "trace", "seed", "queue", "slo_ms", "slo_pct", "rt")


def with_rate(spec: TenantSpec, rate, slo=None) -> TenantSpec:
    """``spec`` run at another rate (the UI's ``r``, ``Supervisor.set_rate``), checked by the
    rules of a SPEC's open-loop keys. ``rate``: queries a second (text or number); empty,
    None or 0: closed loop, which has no SLO, seed or queue. ``slo``: ``MS`` or ``pN:MS``,
    "" for none, None to keep the spec's. The arrival stays the spec's (constant or
    poisson; a trace's times cannot take another rate, so it becomes constant) and so do
    its seed, queue and rt."""
    rate = "" if rate is None else (f"{rate:.10g}" if isinstance(rate, (int, float)) else str(rate).strip())
    try:
        closed = rate == "" or float(rate) == 0
    except ValueError:
        closed = False
    if slo is None:
        slo = "" if closed or spec.slo_ms is None else (f"{spec.slo_ms:.10g}" if spec.slo_pct == 99
                                              else f"p{spec.slo_pct:.10g}:{spec.slo_ms:.10g}")
    slo = str(slo).strip()
    values = {}
    if not closed:
        values["rate"] = rate
        if spec.arrival in ("constant", "poisson"):
            values["arrival"] = spec.arrival
        if spec.arrival == "poisson" and spec.seed is not None:
            values["seed"] = str(spec.seed)
        if spec.queue is not None:
            values["queue"] = str(spec.queue)
        if spec.rt:
            values["rt"] = "on"
    if slo:
        values["slo"] = slo
    text = ",".join(f"{k}={v}" for k, v in values.items()) or "rate="
    fields = dict.fromkeys(OPEN_LOOP_FIELDS)
    fields.update(_open_loop(values, text))
    return spec.with_changes(**fields)


def without_rate(spec: TenantSpec) -> TenantSpec:
    """``spec`` with its rate= and slo= taken out, for a search that sets them (the UI's
    capacity form: the SPEC ``edgemt capacity`` takes, see parse_spec's ``rate_set_later``).
    Its arrival stays (a trace's times cannot take another rate: constant, as with_rate), and
    so do its seed, queue and rt; a closed-loop SPEC stays closed loop."""
    arrival = {"trace": "constant"}.get(spec.arrival, spec.arrival)
    return spec.with_changes(rate=None, arrival=arrival, trace=None, slo_ms=None, slo_pct=None,
                             seed=spec.seed if arrival == "poisson" else None)


def parse_slo(raw: str, head: str, name: str):
    """(percentile, milliseconds) of an SLO, ``MS`` (the p99 bound) or ``pN:MS``; a BadInput
    starting with ``head`` (the value as the user gave it) names ``name`` and what it takes."""
    pct, ms = 99.0, raw
    m = re.match(r"^p([0-9]+(?:\.[0-9]+)?):(.*)$", raw)
    if m:
        pct, ms = float(m.group(1)), m.group(2)
        if not 0 < pct < 100:
            raise BadInput(f"{head}: percentile p{m.group(1)} is out of range; {name} takes MS (the p99 bound) or "
                           "pN:MS with N above 0 and below 100, e.g. p90:100")
    elif not re.match(r"^[0-9.]+$", raw):
        raise BadInput(f"{head}; {name} takes MS (the p99 bound in milliseconds) or pN:MS, e.g. 100 or p90:100")
    lo, hi = SLO_MS
    value = float(ms) if re.match(r"^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$", ms) else math.nan
    if not lo <= value <= hi:
        kind = "is not a number" if math.isnan(value) else "is out of range"
        raise BadInput(f"{head}: {ms!r} {kind}; {name} takes milliseconds, a number from {lo:.10g} to {hi:.10g}")
    return pct, value


def _edgetpu_compiled(path: str) -> bool:
    """Whether a .tflite file was made by edgetpu_compiler: its whole graph becomes one custom
    op whose name, ``edgetpu-custom-op``, is stored as a string in the flatbuffer."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head[4:8] != b"TFL3":
                return False
            return b"edgetpu-custom-op" in fh.read()
    except OSError:
        return False


def check_batch(batch, where: str = "batch") -> int:
    """A batch size: a whole number from 1 to 4096 (an int, or plain ASCII digits)."""
    lo, hi = limits.BATCH
    if isinstance(batch, int) and not isinstance(batch, bool):
        value = batch
    elif isinstance(batch, str) and limits._INT_RE.match(batch.strip()):
        value = int(batch.strip())
    else:
        raise BadInput(f"{where} {batch!r} is not a whole number; a batch is a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise BadInput(f"{where} {value} is out of range; a batch is a whole number from {lo} to {hi}")
    return value


def check_total(specs) -> None:
    """The caps hold for a run's groups together: 256 --tenant SPECs of count=256 would be
    65,536 processes. Thread groups count one process each."""
    processes = sum(s.count if s.isolation == "process" else min(s.count, s.procs or 1) for s in specs)
    tenants = sum(s.count for s in specs)
    if processes > MAX_COUNT["process"]:
        raise BadInput(f"{len(specs)} SPECs start {processes} runner processes together, over the limit of "
                       f"{MAX_COUNT['process']}; use isolation=thread or fewer tenants")
    if tenants > MAX_COUNT["thread"]:
        raise BadInput(f"{len(specs)} SPECs start {tenants} tenants together, over the limit of {MAX_COUNT['thread']}")


def parse_spec(text: str, rate_set_later: bool = False) -> TenantSpec:
    """Parses and checks one SPEC string (resource existence is checked later, by probes).
    ``rate_set_later``: the SPEC of a search that sets the rate itself (``edgemt capacity``),
    whose arrival=, seed=, queue= and rt= need no rate=."""
    spec = text if len(text) <= 120 else text[:100] + "..."  # the SPEC as messages quote it: one readable line
    if not text or not text.strip():
        raise BadInput("empty SPEC; expected e.g. mobilenet_v2,framework=torch,resource=cpu,batch=1,count=1")
    values = {}
    for i, item in enumerate(text.split(",")):
        item = item.strip()
        if not item:
            raise BadInput(f"SPEC {spec!r} has an empty item; items are key=value pairs joined by commas")
        if "=" not in item:
            if i == 0:
                values["model"] = item
                continue
            raise BadInput(f"SPEC {spec!r}: {item!r} is not key=value; only the first item may be a bare model name")
        key, _, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if key not in KEYS:
            raise BadInput(f"SPEC {spec!r}: unknown key {key!r}; accepted keys: {', '.join(KEYS)}")
        if key in values:
            raise BadInput(f"SPEC {spec!r}: key {key!r} given twice")
        if not raw:
            raise BadInput(f"SPEC {spec!r}: {key}= has no value")
        values[key] = raw

    framework = values.get("framework", "torch")
    if framework not in FRAMEWORKS:
        raise BadInput(f"SPEC {spec!r}: unknown framework {framework!r}; accepted: {', '.join(FRAMEWORKS)}")
    file = values.get("file")
    model = values.get("model")
    if model is None and file is None:
        raise BadInput(f"SPEC {spec!r} names no model; give a model ({', '.join(model_names())}) or file=PATH")
    if model is not None and model not in CATALOG:
        raise BadInput(f"SPEC {spec!r}: unknown model {model!r}; accepted: {', '.join(model_names())} (or file=PATH)")
    if model is not None and not CATALOG[model].supports(framework):
        ok = [m for m in model_names() if CATALOG[m].supports(framework)]
        raise BadInput(
            f"SPEC {spec!r}: model {model!r} is not supported by {framework}; {framework} runs: {', '.join(ok)}"
        )
    if file is not None:
        path = Path(file).expanduser()
        if not path.is_file():
            raise BadInput(f"SPEC {spec!r}: file={file!r} does not exist or is not a file")
        file = str(path.absolute())
        if model is None:
            model = path.stem
    resource = values.get("resource", "cpu")
    if not RESOURCE_RE.match(resource):
        raise BadInput(f"SPEC {spec!r}: unknown resource {resource!r}; accepted forms: {RESOURCE_FORMS}")
    if resource.startswith("edgetpu") and framework != "tflite":
        raise BadInput(f"SPEC {spec!r}: resource {resource} runs only framework=tflite (EdgeTPU models are TFLite)")
    if resource_kind(resource) in ("tensorrt", "dla") and framework != "onnxruntime":
        raise BadInput(f"SPEC {spec!r}: resource {resource} runs only framework=onnxruntime "
                       "(its TensorRT execution provider)")
    if resource.startswith("cuda") and framework == "tflite":
        raise BadInput(f"SPEC {spec!r}: tflite does not run on {resource}; tflite runs on cpu or edgetpu")
    if file is not None and framework == "tflite" and not resource.startswith("edgetpu") and _edgetpu_compiled(file):
        raise BadInput(
            f"SPEC {spec!r}: {Path(file).name} is compiled for the EdgeTPU (it holds an edgetpu-custom-op): "
            f"on {resource} the interpreter cannot run that op; use resource=edgetpu, or the un-compiled "
            "model on the CPU (edgemt models prepare tflite writes both)"
        )
    batch = check_batch(values["batch"], f"SPEC {spec!r}: batch") if "batch" in values else 1
    isolation = values.get("isolation", DEFAULT_ISOLATION[framework])
    if isolation not in ISOLATIONS:
        raise BadInput(f"SPEC {spec!r}: isolation={isolation!r}; accepted: {', '.join(ISOLATIONS)}")
    count = 1
    if "count" in values:
        raw = values["count"]
        if limits._INT_RE.match(raw) and int(raw) > MAX_COUNT[isolation]:
            hint = "; use isolation=thread for more" if isolation == "process" else ""
            raise BadInput(f"SPEC {spec!r}: count={int(raw)} is over the {isolation} isolation limit of "
                           f"{MAX_COUNT[isolation]}{hint}")
        count = _whole("count", raw, spec, 1, MAX_COUNT[isolation])
    threads = None
    if "threads" in values:
        lo, hi = limits.threads_range()
        threads = _whole("threads", values["threads"], spec, lo, hi,
                         f" ({limits.THREADS_PER_CORE} a core, {limits.cores()} cores here)")
    if "size" in values and file is None:
        raise BadInput(f"SPEC {spec!r}: size= is for file= models; {model} takes {CATALOG[model].input_size}x"
                       f"{CATALOG[model].input_size} inputs")
    size = _whole("size", values["size"], spec, *limits.SIZE) if "size" in values else None
    autotune = None
    if "autotune" in values:
        if framework != "mxnet":
            raise BadInput(f"SPEC {spec!r}: autotune= is an mxnet option (MXNET_CUDNN_AUTOTUNE_DEFAULT)")
        autotune = _flag("autotune", values["autotune"], spec)
    precision = values.get("precision")
    if precision is not None:
        if framework != "onnxruntime":
            raise BadInput(f"SPEC {spec!r}: precision= is an onnxruntime option; {framework} runs its own models")
        ok = PRECISIONS[resource_kind(resource)]
        if precision not in ok:
            raise BadInput(f"SPEC {spec!r}: precision={precision!r} does not run on {resource}; "
                           f"accepted there: {', '.join(ok)}")
        if precision == "int8" and file is not None and resource == "cpu":
            raise BadInput(f"SPEC {spec!r}: precision=int8 picks the prepared int8 file of a catalog model; "
                           "a file= model runs as it is (quantise it yourself, and leave precision= out)")
    procs = None
    if "procs" in values:
        if isolation != "thread":
            raise BadInput(f"SPEC {spec!r}: procs= spreads thread tenants over runner processes; it needs "
                           f"isolation=thread (isolation={isolation} runs one process a tenant)")
        procs = _whole("procs", values["procs"], spec, 1, MAX_PROCS)
    return TenantSpec(model, framework, resource, batch, count, isolation, threads, file, size, autotune, precision,
                      procs, **_open_loop(values, spec, rate_set_later))
