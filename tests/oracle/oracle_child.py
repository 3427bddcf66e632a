"""A runner child whose batches take a known time: the oracle of the end-to-end tests.

It is the real child program (runners/child/child_main.py: protocol, tenants, reporter,
windows, pause/resume/set_batch/stop) with one thing replaced, the backend: a batch is a
sleep of a configured duration, so every figure edgemt derives from its windows has an
exact expected value. Nothing of the production backends or of the controller knows about
it: tests register it as the interpreter of a framework in config.toml's [envs] (a wrapper
script, see oracle_env.py), and the controller starts it like any framework environment.

Invoked (by the wrapper) as::

    PYTHON oracle_child.py CONFIG_JSON -u RUNNERS_CHILD_DIR --framework F [--probe | --check SPEC]

The arguments after CONFIG_JSON are the ones the controller gives any interpreter; the
RUNNERS_CHILD_DIR it names is where the real child code is imported from.

CONFIG_JSON (re-read by every child at start, so a test may change it between runs)::

    {"models": {KEY: TIMING, ...}, "devices": ["cpu", "cuda:0"], "ledger_dir": DIR|null,
     "stall_near_edge_s": S|null, "freeze_after_s": S|null,
     "mute_after_resume": true|[TENANT, ...]|null}

KEY is "framework:model", "model" or "*" (looked up in that order). TIMING fields:

- ``batch_s``: seconds of one batch: a number, or {"BATCH": seconds} (missing batches
  fall back to ``base_s + image_s * batch``);
- ``base_s``, ``image_s``: batch time = base_s + image_s * batch (defaults 0.02, 0);
- ``cycle_s``: a list of batch durations used in turn (overrides the above): a ramp, or
  known latency percentiles;
- ``from_start``: true: each batch sleeps its duration from its own start (no schedule, no
  catch-up), so a latency is never below its duration (latency tests; throughput is then
  lowered by the machine's late wake-ups). Always so for an open-loop tenant (spec
  ``rate``): it idles between queries, and catching up on that idle time would make its
  batches take no time;
- ``fixed_batch``: the model takes only this batch; others are clamped to it (as an
  EdgeTPU model), with a ``batch_clamped`` event;
- ``max_batch``: larger batches fail to allocate (a MemoryError, as out of memory);
- ``load_s``: seconds the model takes to load; ``fail_load``: a reason to fail loading.

Batches end on an absolute schedule (deadline += duration), so sleep overshoot and a
loaded machine do not accumulate: over any span a tenant completes span / duration
batches, +-1. A call that starts over CATCH_UP_S late restarts the schedule (a paused
tenant does not catch up; the log says so).

``ledger_dir``: every batch the tenant loop times (and then counts) is appended to
``DIR/t<tenant>.txt`` as ``<end time - grid epoch> <latency>``, i.e. on the same clock as
the windows in the DB, with the latency the child measured, and every window the child writes to ``DIR/w<tenant>.txt`` as ``images
batches``, so a test can check that each batch was counted exactly once and each window
reached the DB. ``stall_near_edge_s``: a batch that ends within S seconds of a window edge
is held (between its timing and its counting) until just after that edge: the window-edge
race, forced. ``freeze_after_s``: S seconds after the child started, the next batch of each
tenant is held before its counting for good (and not written down), so that every batch
in the ledger has been counted in a window that was sent (the tenant keeps sending empty
windows).

``mute_after_resume``: after a ``resume`` of such a tenant (true: any), its windows are no
longer written: a child that goes silent, as defect 1 of issue 11 made it, to test that
the controller notices.

Standard library only (no numpy): it runs under any Python >= 3.6, e.g. the controller's.
"""
import json
import os
import sys
import threading
import time


# A batch that starts later than its schedule by up to this much is caught up on (the next
# batches end sooner), so a loaded test machine (load average 40 on 2 cores seen: threads
# waiting hundreds of ms for a CPU) does not change the throughput; a longer gap (a pause)
# restarts the schedule.
CATCH_UP_S = 1.0


class OracleBackend(object):
    serial_warmup = False

    def __init__(self, spec, log, timing):
        self.spec = spec
        self.log = log
        self.timing = timing
        self.input_size = int(spec.get("size") or 224)
        self.batch = None
        self.deadline = None
        self.calls = 0

    def load(self):
        if self.timing.get("fail_load"):
            raise RuntimeError(self.timing["fail_load"])
        time.sleep(float(self.timing.get("load_s") or 0.0))
        return {"runtime": "oracle", "weights": "random", "note": "oracle: batches are sleeps of a known time"}

    def fit_batch(self, asked):
        fixed = self.timing.get("fixed_batch")
        if fixed is not None and asked != int(fixed):
            self.batch = int(fixed)
            return self.batch, "the model takes batch %d only (oracle fixed_batch)" % self.batch
        limit = self.timing.get("max_batch")
        if limit is not None and asked > int(limit):
            raise MemoryError("oracle: batch %d does not fit in memory (max_batch %d)" % (asked, int(limit)))
        self.batch = asked
        return asked, None

    def duration(self):
        cycle = self.timing.get("cycle_s")
        if cycle:
            return float(cycle[self.calls % len(cycle)])
        per = self.timing.get("batch_s")
        if isinstance(per, (int, float)):
            return float(per)
        if isinstance(per, dict) and str(self.batch) in per:
            return float(per[str(self.batch)])
        return float(self.timing.get("base_s", 0.02)) + float(self.timing.get("image_s", 0.0)) * self.batch

    def host_batch(self, images):
        return images

    def to_device(self, host):
        return host

    def feed(self, x):
        pass

    def call(self):
        d = self.duration()
        now = time.monotonic()
        if self.timing.get("from_start") or self.spec.get("rate") is not None:
            self.calls += 1
            time.sleep(d)  # the latency is the point here: never shortened to catch up
            return
        if self.deadline is None or now > self.deadline + CATCH_UP_S:
            if self.deadline is not None:
                self.log("oracle: %.3f s behind the schedule: restarting it" % (now - self.deadline))
            self.deadline = now  # paused, or starved for long: start again
        self.deadline += d
        self.calls += 1
        left = self.deadline - time.monotonic()
        if left > 0:
            time.sleep(left)

    def close(self):
        pass


class OracleBackends(object):
    """The ``backends`` object child_main.main takes (see child_loop.FrameworkBackends)."""

    def __init__(self, config):
        self.config = config

    def timing(self, spec):
        models = self.config.get("models") or {}
        for key in ("%s:%s" % (spec.get("framework"), spec.get("model")), str(spec.get("model")), "*"):
            if key in models:
                return models[key]
        return {}

    def probe(self, framework, defer_import=False):
        return {"framework_version": "oracle", "runtime": "oracle",
                "devices": list(self.config.get("devices") or ["cpu"])}

    def make(self, spec, log):
        return OracleBackend(spec, log, self.timing(spec))

    def load_images(self, folder, size):
        return list(range(16)), 0

    def batches_of(self, images, n):
        return [[images[(k * n + i) % len(images)] for i in range(n)] for k in range(min(4, len(images)))]


class Ledger(object):
    """The after_batch hook: writes down each counted batch, and forces the edge race."""

    def __init__(self, folder, stall_near_edge_s, freeze_after_s=None):
        self.folder = folder
        self.stall = stall_near_edge_s
        self.freeze_at = None if freeze_after_s is None else time.monotonic() + float(freeze_after_s)
        self.files = {}

    def __call__(self, tenant, t_start, t_end):
        if self.freeze_at is not None and t_end >= self.freeze_at:
            threading.Event().wait()  # held for good: this batch is never counted
        if self.folder:
            f = self.files.get(tenant.id)
            if f is None:
                f = self.files[tenant.id] = open(os.path.join(self.folder, "t%s.txt" % tenant.id), "a", 1)
            f.write("%.9f %.9f\n" % (t_end - tenant.grid.epoch, t_end - t_start))
        if self.stall:
            edge = tenant.grid.edge(tenant.grid.index(t_end) + 1)
            if edge - t_end < self.stall:
                # hold the batch until the reporter has sent (and forgotten) its window
                time.sleep(max(0.0, edge - time.monotonic()) + 0.02)


class MuteAfterResume(object):
    """Wraps stdin (to see resume commands) and the emitter (to drop those tenants' windows)."""

    def __init__(self, which):
        self.which = which
        self.muted = set()

    def stdin(self, stream):
        mute = self

        class Reader(object):
            def readline(self):
                line = stream.readline()
                try:
                    cmd = json.loads(line)
                except ValueError:
                    return line
                if isinstance(cmd, dict) and cmd.get("cmd") == "resume":
                    if mute.which is True or cmd.get("tenant") in mute.which:
                        mute.muted.add(cmd.get("tenant"))
                return line

        return Reader()

    def emitter(self, emitter):
        mute = self

        class Muted(object):
            def emit(self, ev, **fields):
                if ev == "window" and fields.get("tenant") in mute.muted:
                    return True
                return emitter.emit(ev, **fields)

        return Muted()


class WindowLedger(object):
    """Wraps the emitter: writes down every window the child sends."""

    def __init__(self, folder, emitter):
        self.folder = folder
        self.emitter = emitter
        self.files = {}
        self.lock = threading.Lock()

    def emit(self, ev, **fields):
        if ev == "window":
            with self.lock:
                tid = fields.get("tenant")
                f = self.files.get(tid)
                if f is None:
                    f = self.files[tid] = open(os.path.join(self.folder, "w%s.txt" % tid), "a", 1)
                f.write("%d %d\n" % (fields["images"], fields["batches"]))
        return self.emitter.emit(ev, **fields)


def main():
    config_path, rest = sys.argv[1], sys.argv[2:]
    if rest and rest[0] == "-u":
        rest = rest[1:]
    child_dir, argv = rest[0], rest[1:]
    sys.path.insert(0, child_dir)
    with open(config_path) as f:
        config = json.load(f)
    import child_main

    if config.get("mute_after_resume"):
        mute = MuteAfterResume(config["mute_after_resume"])
        sys.stdin = mute.stdin(sys.stdin)
        take_stdout = child_main.take_stdout
        child_main.take_stdout = lambda: mute.emitter(take_stdout())
    hook = None
    if config.get("ledger_dir") or config.get("stall_near_edge_s") or config.get("freeze_after_s"):
        hook = Ledger(config.get("ledger_dir"), config.get("stall_near_edge_s"), config.get("freeze_after_s"))
    if config.get("ledger_dir"):
        take = child_main.take_stdout
        child_main.take_stdout = lambda: WindowLedger(config["ledger_dir"], take())
    return child_main.main(argv, backends=OracleBackends(config), after_batch=hook)


if __name__ == "__main__":
    code = main()
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
