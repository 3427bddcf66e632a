"""The serving side of a runner child: tenants (one thread each) and the reporter.

Timing and windows:
- a tenant thread loads its model, prepares up to 4 batches on the device, runs the
  warm-up batches untimed, emits ``warm``, then times each model call with
  time.monotonic() around it (device synchronised by the backend).
- the window grid is ``epoch + k * window_s`` (monotonic). A batch counts in the window
  in which it completes. Counting starts ("arms") at the first grid boundary after warm,
  after a resume and after a batch change, so every reported window is a whole window of
  one configuration; from then on one ``window`` per grid window is emitted, images 0
  included, until the tenant is paused, reconfigured or stopped.
- every batch is counted exactly once: a batch whose window was already sent when the
  tenant thread got to count it (it ended just before the edge, and the thread was
  descheduled between its timing and its counting) goes into the next unsent window, whose
  ``late`` says how many such batches it holds.
- a tenant that runs batches is always counting: a resume arms at once (even while a batch
  is in flight, e.g. a pause and a resume that both arrive during one long batch), and the
  loop arms any unpaused tenant it finds disarmed.
- one reporter thread per process wakes at the grid boundaries and emits the windows.

Backends come from a ``backends`` object passed to Child (FrameworkBackends here: the
``backend_<framework>.py`` modules and child_inputs' images). Tests pass their own (a
backend whose batches take a known time, tests/oracle/) to run this same code.
"""
import importlib
import math
import os
import threading
import time

import arrivals
import latency
import slot_wait
import wire
from child_io import TenantFailure, failure_reason

DEFAULT_WINDOW_S = 1.0
DEFAULT_WARMUP = 3
FRAMEWORKS = ("torch", "tensorflow", "tflite", "mxnet", "onnxruntime")


def make_backend(spec, log):
    framework = spec.get("framework")
    if framework not in FRAMEWORKS:
        raise TenantFailure("unknown framework %r: one of %s" % (framework, ", ".join(FRAMEWORKS)))
    module = importlib.import_module("backend_" + framework)
    return module.Backend(spec, log)


class FrameworkBackends(object):
    """What a child runs: the framework backends (``backend_<framework>.py``) and the
    images of child_inputs.

    A backend (``make``) has ``input_size``, ``serial_warmup``, ``load() -> dict`` (extra
    ``loaded`` fields), ``fit_batch(asked) -> (used, why)``, ``host_batch(uint8 NHWC)``,
    ``to_device(host)``, ``feed(x)``, ``call()`` (one synchronous model call) and
    ``close()``. Any object with these four methods can replace this one.
    """

    def probe(self, framework, defer_import=False):
        """Fields of ``hello`` (framework_version, runtime, devices, numpy...); raises if
        the framework does not import."""
        import numpy

        fields = {"numpy": numpy.__version__}
        if framework is not None:
            module = importlib.import_module("backend_" + framework)
            fields.update(module.probe(defer_import=defer_import))
        return fields

    def make(self, spec, log):
        return make_backend(spec, log)

    def load_images(self, folder, size):
        """(images, number of unreadable files skipped) of a folder, or the built-in set."""
        from child_inputs import load_images

        return load_images(folder, size)

    def batches_of(self, images, n):
        from child_inputs import batches_of

        return batches_of(images, n)


class Grid(object):
    def __init__(self, epoch, window_s):
        self.epoch = float(epoch)
        self.w = float(window_s)

    def index(self, t):
        """Index of the window holding time t (window k is [edge(k), edge(k+1)))."""
        return int(math.floor((t - self.epoch) / self.w))

    def edge(self, k):
        return self.epoch + k * self.w


class Tenant(object):
    def __init__(self, child, tid, spec):
        self.child = child
        self.id = tid
        self.spec = dict(spec)
        window_s = spec.get("window_s") or DEFAULT_WINDOW_S
        epoch = spec.get("epoch")
        self.grid = Grid(child.epoch if epoch is None else epoch, window_s)
        self.warmup = spec.get("warmup_batches")
        if self.warmup is None:
            self.warmup = DEFAULT_WARMUP
        self.batch = int(spec.get("batch") or 1)
        self.include_transfer = bool(spec.get("include_transfer"))
        # open loop (arrivals.py): queries on a schedule at ``rate`` a second; None: closed loop
        self.rate = spec.get("rate")
        self.arrival = spec.get("arrival") or "constant"
        self.queue_bound = int(spec.get("queue") or arrivals.DEFAULT_QUEUE)
        self.slo_s = spec.get("slo_s")  # a query within this latency counts as ``within``
        self.rt = bool(spec.get("rt"))  # waits for its slots at real-time priority (slot_wait.py)
        self.trace = None  # the trace's inter-arrival times, read at load
        self.queue = None  # arrivals.Queue while the schedule runs (under child.lock); None: restart it
        # guarded by child.lock
        self.armed_k = None  # first window index counted; None: not counting
        self.next_k = None  # next window index the reporter emits
        self.pending = {}  # window index -> [images, batches, hist, late batches]
        self.looping = False  # warm and in _loop: counting may be armed
        self.paused = False
        self.want_batch = None
        self.want_rate = None  # set_rate's open-loop fields until the loop takes them
        self.stopping = False
        self.finished = False
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tenant-%s" % tid)
        self.thread.daemon = True
        self.backend = None

    # --- commands (called from the command reader) ---
    def pause(self):
        with self.child.lock:
            self.paused = True
            self._disarm(flush=True)
            self.queue = None  # a resume starts the schedule again: no burst of missed queries
        self.child.reporter_wake.set()

    def resume(self):
        with self.child.lock:
            self.paused = False
            # Armed here, not when the tenant thread next looks: it may be in the middle of a
            # long batch, which would leave the tenant without windows until that batch ends.
            armed = self._arm_locked()
        self.wake.set()
        if armed:
            self.child.reporter_wake.set()

    def set_batch(self, n):
        with self.child.lock:
            self.want_batch = int(n)
            self._disarm(flush=True)
            self.queue = None
        self.wake.set()
        self.child.reporter_wake.set()

    def set_rate(self, fields):
        """Runs the tenant open-loop at fields["rate"] (with its arrival, seed, queue, slo_s),
        or closed-loop when the rate is None; the schedule starts again, as after a pause."""
        with self.child.lock:
            self.want_rate = dict(fields)
            self._disarm(flush=True)
            self.queue = None
        self.wake.set()
        self.child.reporter_wake.set()

    def _apply_rate(self):
        """Takes set_rate's fields (in the tenant thread, between two loops)."""
        with self.child.lock:
            fields = self.want_rate
        trace = None
        if fields.get("rate") is not None and fields.get("arrival") == "trace":
            trace = arrivals.read_trace(fields.get("trace"))
        with self.child.lock:
            self.want_rate = None
            self.queue = None
            self.rate = fields.get("rate")
            self.arrival = fields.get("arrival") or "constant"
            self.queue_bound = int(fields.get("queue") or arrivals.DEFAULT_QUEUE)
            self.slo_s = fields.get("slo_s")
            self.rt = bool(fields.get("rt"))
            self.trace = trace
            for key in wire.OPEN_LOOP_KEYS:
                self.spec[key] = fields.get(key)

    def stop(self):
        with self.child.lock:
            self.stopping = True
            self._disarm(flush=True)
        self.wake.set()
        self.child.reporter_wake.set()
        self.child.wake_loads()  # if it waits for the others to load

    # --- arming (under child.lock) ---
    def _disarm(self, flush=False):
        """Stops counting; with flush, the whole windows that ended before now and are not
        sent yet go to the reporter's outbox first (a command must not drop a window that
        ended before it, however late the reporter is at that edge)."""
        if flush and self.armed_k is not None:
            self.child.outbox.extend(self.due_windows(time.monotonic()))
        self.armed_k = None
        self.next_k = None
        self.pending = {}

    def _arm_locked(self):
        """Counts from the next grid edge if the tenant runs and is not counting; under the lock."""
        if (not self.looping or self.paused or self.stopping or self.want_batch is not None
                or self.want_rate is not None):
            return False
        if self.armed_k is not None:
            return False
        k = self.grid.index(time.monotonic()) + 1
        self.armed_k = k
        self.next_k = k
        self.pending = {}
        return True

    def _arm(self):
        with self.child.lock:
            armed = self._arm_locked()
        if armed:
            self.child.reporter_wake.set()

    def _slot(self, t):
        """(the pending window that counts something at time t, late), or (None, False)
        when nothing is counted (under the lock): a window already sent passes it to the
        next unsent one, as late."""
        if self.armed_k is None:
            return None, False  # paused or reconfiguring: not counted
        k = self.grid.index(t)
        if k < self.armed_k:
            return None, False  # before counting started (extra warm-up)
        late = k < self.next_k
        if late:
            k = self.next_k
        slot = self.pending.get(k)
        if slot is None:
            slot = self.pending[k] = [0, 0, {}, 0, None]
        return slot, late

    def _queries(self, slot):
        """The open-loop counts of a pending window (made on first use)."""
        q = slot[4]
        if q is None:
            q = slot[4] = dict(scheduled=0, started=0, completed=0, dropped=0, within=0, lag_sum=0.0,
                               lag_max=0.0, lag_hist={}, qhist={})
        return q

    def _queries_at(self, t):
        """The open-loop counts of the pending window that counts something at time t, or
        None when nothing is counted then (under the lock; see ``_slot``)."""
        slot, _ = self._slot(t)
        return None if slot is None else self._queries(slot)

    def _count(self, t0, t1, scheduled=None):
        """Counts one batch that ended at t1 (under the lock): in its window, or, if that
        window was sent already, in the next unsent one, as late. An open-loop query
        (``scheduled``: its scheduled time) also counts as completed, with its latency from
        the scheduled time: the time it waited in the queue is part of it."""
        slot, late = self._slot(t1)
        if slot is None:
            return
        slot[0] += self.batch
        slot[1] += 1
        latency.count(slot[2], t1 - t0)
        if late:
            slot[3] += 1
        if scheduled is not None:
            q = self._queries(slot)
            q["completed"] += 1
            took = t1 - scheduled
            latency.count(q["qhist"], took)
            if self.slo_s is not None and took <= self.slo_s:
                q["within"] += 1

    def _arrived(self, t, dropped):
        """A query scheduled at t was admitted to the queue or dropped (under the lock)."""
        q = self._queries_at(t)
        if q is not None:
            q["scheduled"] += 1
            if dropped:
                q["dropped"] += 1

    def _started(self, now, scheduled):
        """A query scheduled at ``scheduled`` starts at ``now`` (under the lock)."""
        q = self._queries_at(now)
        if q is not None:
            q["started"] += 1
            lag = max(0.0, now - scheduled)
            q["lag_sum"] += lag
            q["lag_max"] = max(q["lag_max"], lag)
            latency.count(q["lag_hist"], lag)

    def _new_queue(self, now):
        seed = self.spec.get("seed")
        # The schedule starts at the first window edge counted: a query scheduled before it
        # would be counted nowhere (or only as completed), so every query of a schedule is
        # counted once, from its arrival to its end.
        origin = now if self.armed_k is None else max(now, self.grid.edge(self.armed_k))
        schedule = arrivals.Schedule(origin, self.rate, self.arrival, seed=seed, trace=self.trace)
        return arrivals.Queue(schedule, self.queue_bound, on_arrival=self._arrived)

    def due_windows(self, now):
        """Windows whose end has passed, as event dicts; called by the reporter under the lock."""
        out = []
        if self.armed_k is None:
            return out
        if self.queue is not None:
            self.queue.advance(now)  # every query scheduled in a window is counted before it is sent
        while self.grid.edge(self.next_k + 1) <= now:
            k = self.next_k
            images, batches, hist, late, queries = self.pending.pop(k, (0, 0, {}, 0, None))
            window = dict(
                tenant=self.id,
                t0=round(self.grid.edge(k), 6),
                t1=round(self.grid.edge(k + 1), 6),
                images=images,
                batches=batches,
                batch=self.batch,
                hist=hist,
                late=late,
            )
            if self.rate is not None:
                window.update(queries or self._queries([None] * 5))
                window["queue"] = len(self.queue) if self.queue is not None else 0
                window["lag_sum"] = round(window["lag_sum"], 6)
                window["lag_max"] = round(window["lag_max"], 6)
                if self.slo_s is None:
                    del window["within"]
            out.append(window)
            self.next_k = k + 1
        return out

    def next_due(self):
        if self.armed_k is None:
            return None
        return self.grid.edge(self.next_k + 1)

    # --- the tenant thread ---
    def _run(self):
        emit = self.child.emit
        try:
            self._serve()
        except Exception as exc:  # noqa: BLE001 - any tenant error is that tenant's failure
            self.child.log("tenant %s failed" % self.id, exc=exc)
            with self.child.lock:
                self._disarm()
                self.finished = True
            emit("failed", tenant=self.id, reason=failure_reason(exc))
            self._release()
            self.child.forget(self.id)
            return
        self._release()
        with self.child.lock:
            self._disarm()
            self.finished = True
        emit("stopped", tenant=self.id)
        self.child.forget(self.id)

    def _serve(self):
        try:
            loaded, dev = self._load()
            if loaded is not None:
                self.child.emit("loaded", **loaded)
                self._warm_up(dev)
        finally:
            self.child.load_done()
        if loaded is None or self.stopping:
            return
        # armed before 'warm' is sent: from then on the supervisor expects windows, and on a
        # loaded machine this thread may wait seconds for the GIL after the write
        with self.child.lock:
            self.looping = True
        self._arm()
        self.child.emit("warm", tenant=self.id, warmup_batches=self.warmup, t=round(time.monotonic(), 6))
        # Load first, then run: the loop starts once no tenant of this process is still
        # loading or warming up, so thousands of tenants started together do not load
        # while competing with the loops of those before them for the GIL (issue 13).
        # Windows (of 0 images) are reported meanwhile, so the runner does not look hung;
        # a measured phase starts only after every tenant is warm.
        self.child.wait_loads(lambda: self.stopping)
        # each loop returns (its prepared batches) when set_rate switches the tenant, None when it stops
        while dev is not None:
            dev = self._loop(dev) if self.rate is None else self._loop_open(dev)
            if dev is not None:
                self._apply_rate()

    def _load(self):
        """Loads the model and prepares the batches: (the ``loaded`` fields, the batches), or
        (None, None) if the tenant was stopped first."""
        t_load = time.monotonic()
        with self.child.load_lock:
            if self.stopping:
                return None, None
            self.backend = self.child.backends.make(self.spec, self.child.log)
            info = self.backend.load() or {}
        # decoded once per process for a folder and a size, shared by every tenant (read-only)
        images, skipped = self.child.images_for(self.spec.get("images"), self.backend.input_size)
        self.images = images
        if self.rate is not None and self.arrival == "trace":
            self.trace = arrivals.read_trace(self.spec.get("trace"))
        dev = self._configure(self.batch)
        loaded = dict(
            tenant=self.id,
            load_s=round(time.monotonic() - t_load, 4),
            weights=info.pop("weights", "random"),
            note=info.pop("note", None),
            images_used=int(len(images)),
            images_skipped=int(skipped),
            runtime=info.pop("runtime", None),
            batch=self.batch,
        )
        loaded.update(info)
        return loaded, dev

    def _warm_up(self, dev):
        if getattr(self.backend, "serial_warmup", False):
            with self.child.load_lock:
                self._warm(dev)
        else:
            self._warm(dev)

    def _release(self):
        backend, self.backend = self.backend, None
        self.devs = None
        if backend is not None:
            try:
                backend.close()
            except Exception as exc:  # noqa: BLE001
                self.child.log("closing tenant %s" % self.id, exc=exc)

    def _configure(self, asked):
        """Prepares the batches for a batch size (clamping if the backend must); returns them."""
        self.devs = None
        used, why = self.backend.fit_batch(asked)
        if used != asked:
            self.child.emit("batch_clamped", tenant=self.id, asked=asked, used=used, reason=why)
        self.batch = used
        hosts = [self.backend.host_batch(b) for b in self.child.backends.batches_of(self.images, used)]
        if self.include_transfer:
            self.devs = hosts  # copied to the device inside the timed span
        else:
            self.devs = [self.backend.to_device(h) for h in hosts]
        return self.devs

    def _step(self, x):
        """One timed batch; returns (t_start, t_end)."""
        b = self.backend
        if self.include_transfer:
            t0 = time.monotonic()
            b.feed(b.to_device(x))
            b.call()
            return t0, time.monotonic()
        b.feed(x)
        t0 = time.monotonic()
        b.call()
        return t0, time.monotonic()

    def _warm(self, devs):
        for i in range(self.warmup):
            if self.stopping:
                return
            self._step(devs[i % len(devs)])

    def _loop(self, devs):
        i = 0
        while True:
            with self.child.lock:
                stopping, paused, want = self.stopping, self.paused, self.want_batch
                new_rate = self.want_rate is not None
            if stopping:
                return None
            if new_rate:
                return devs
            if want is not None:
                with self.child.lock:
                    self.want_batch = None
                devs = self._configure(want)
                self._arm()
                continue
            if paused:
                self.wake.wait(0.5)
                self.wake.clear()
                continue  # resume() arms
            self._arm()  # a running tenant is always counting (a no-op when it is)
            t0, t1 = self._step(devs[i % len(devs)])
            i += 1
            if self.child.after_batch is not None:
                self.child.after_batch(self, t0, t1)
            with self.child.lock:
                self._count(t0, t1)


    def _loop_open(self, devs):
        """The open loop: each query starts when it has arrived and the one before it ended.

        The schedule starts when the loop does (and again after a pause or a batch change),
        its first query at once; a query that arrives while one runs waits in the queue."""
        waiter = slot_wait.SlotWaiter(self.rt)
        try:
            return self._run_open(devs, waiter)
        finally:
            waiter.normal()

    def _run_open(self, devs, waiter):
        i = 0
        lock = self.child.lock
        while True:
            with lock:
                stopping, paused, want = self.stopping, self.paused, self.want_batch
                new_rate = self.want_rate is not None
            if stopping:
                return None
            if new_rate:
                return devs
            if want is not None:
                with lock:
                    self.want_batch = None
                waiter.normal()
                devs = self._configure(want)
                with lock:
                    self.queue = None
                self._arm()
                continue
            if paused:
                self.wake.wait(0.5)
                self.wake.clear()
                continue  # resume() arms
            self._arm()
            now = time.monotonic()
            with lock:
                if self.queue is None:
                    self.queue = self._new_queue(now)
                self.queue.advance(now)
                scheduled = self.queue.take()
                if scheduled is not None:
                    self._started(now, scheduled)
                due = self.queue.next_time()
            if scheduled is None:
                # idle until the next arrival (a command sets wake: look at it at once)
                waiter.wait(self.wake, due)
                continue
            waiter.normal()  # a batch runs at the thread's own priority, whatever it waited at
            t0, t1 = self._step(devs[i % len(devs)])
            i += 1
            if self.child.after_batch is not None:
                self.child.after_batch(self, t0, t1)
            with lock:
                self._count(t0, t1, scheduled)


class Child(object):
    """The tenants of one process, the reporter thread and the command dispatcher."""

    def __init__(self, emitter, log, framework=None, exit_fn=os._exit, backends=None, after_batch=None):
        self.framework = framework  # the --framework of the child: a spec's default
        self.backends = backends or FrameworkBackends()
        # Test hook: called as after_batch(tenant, t_start, t_end) between the timing of a batch and
        # its counting, where a test forces a stall (the window edge race). None here.
        self.after_batch = after_batch
        self.emitter = emitter
        self.log = log
        self.exit_fn = exit_fn
        self.lock = threading.Lock()
        self.load_lock = threading.Lock()
        # tenants started and not yet loaded; loaded ones wait for 0 before they run
        self.loading = 0
        self.loads_cond = threading.Condition()
        self._images = {}  # (folder, size) -> (images, skipped): decoded once per process
        self._images_lock = threading.Lock()
        self.tenants = {}
        self.epoch = time.monotonic()
        self.reporter_wake = threading.Event()
        self.outbox = []  # windows to send (under lock): whole windows flushed by a command
        self.parent = os.getppid()
        self.exiting = False
        self.reporter = threading.Thread(target=self._report, name="reporter")
        self.reporter.daemon = True

    def emit(self, ev, **fields):
        self.emitter.emit(ev, **fields)

    def emit_windows(self, windows):
        """The windows of one reporter pass, in one write where the emitter can (as
        ``windows`` lines: decoded once by the controller, not once a window, issue 13):
        written one by one, 2,000 tenants' windows were spread over seconds (the reporter
        waits for the GIL after every write), and the last tenants looked silent. An
        emitter without ``emit_windows`` (a test's wrapper) gets one ``window`` each."""
        many = getattr(self.emitter, "emit_windows", None)
        if many is not None and len(windows) > 1:
            many(windows)
            return
        for e in windows:
            self.emit("window", **e)

    # --- loading (shared by the tenants of this process) ---
    def load_started(self):
        with self.loads_cond:
            self.loading += 1

    def load_done(self):
        with self.loads_cond:
            self.loading -= 1
            if self.loading <= 0:
                self.loads_cond.notify_all()

    def wait_loads(self, stopping, limit_s=120.0):
        """Waits until no tenant of this process is loading (at most ``limit_s``: a load
        that hangs must not hold the others back for ever) or ``stopping()``.

        Woken by ``load_done`` and ``wake_loads`` (a stop), not by polling: 2,000 threads
        polling 5 times a second kept the loads and the reporter from the GIL."""
        end = time.monotonic() + limit_s
        with self.loads_cond:
            while self.loading > 0 and not stopping():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.loads_cond.wait(min(left, 10.0))

    def wake_loads(self):
        with self.loads_cond:
            self.loads_cond.notify_all()

    def images_for(self, folder, size):
        """The backends' ``load_images(folder, size)``, decoded once per process: decoding
        the built-in set takes ~0.4 s, which 2,000 tenants would otherwise each pay."""
        key = (folder, int(size))
        with self._images_lock:
            got = self._images.get(key)
            if got is None:
                got = self._images[key] = self.backends.load_images(folder, size)
        return got

    def forget(self, tid):
        with self.lock:
            t = self.tenants.get(tid)
            if t is not None and t.finished:
                del self.tenants[tid]

    # --- reporter ---
    def _report(self):
        while True:
            now = time.monotonic()
            with self.lock:
                tenants = list(self.tenants.values())
                # windows flushed by pause/set_batch/stop first: they are older than any due now
                events, self.outbox = self.outbox, []
                for t in tenants:
                    events.extend(t.due_windows(now))
                dues = [d for d in (t.next_due() for t in tenants) if d is not None]
            self.emit_windows(events)
            if os.getppid() != self.parent:
                self.log("parent %d is gone: exiting" % self.parent)
                self.shutdown(wait_s=0.5, announce=False)
                return
            delay = 0.5
            if dues:
                delay = min(delay, max(0.0, min(dues) - time.monotonic()))
            self.reporter_wake.wait(delay + 0.0005)
            self.reporter_wake.clear()

    # --- commands ---
    def handle(self, cmd):
        """Applies one command dict; returns False when the child must exit."""
        name = cmd.get("cmd")
        tid = cmd.get("tenant")
        if name == "stop" and tid is None:
            return False
        if name == "start":
            spec = cmd.get("spec") or {}
            with self.lock:
                dup = tid in self.tenants
            if tid is None or dup:
                self.emit("failed", tenant=tid, reason="start needs a new tenant id (got %r)" % (tid,))
                return True
            spec = dict(spec)
            if spec.get("framework") is None:
                spec["framework"] = self.framework
            t = Tenant(self, tid, spec)
            with self.lock:
                self.tenants[tid] = t
            self.load_started()
            t.thread.start()
            return True
        with self.lock:
            t = self.tenants.get(tid)
        if name not in ("set_batch", "set_rate", "pause", "resume", "stop"):
            self.emit("log", message="unknown command %r ignored" % (name,))
            return True
        if t is None:
            self.emit("log", message="%s: no tenant %r" % (name, tid))
            return True
        if name == "pause":
            t.pause()
        elif name == "resume":
            t.resume()
        elif name == "stop":
            t.stop()
        elif name == "set_batch":
            try:
                n = int(cmd.get("batch"))
                if n < 1:
                    raise ValueError
            except (TypeError, ValueError):
                self.emit("log", message="set_batch: batch must be an integer >= 1, got %r" % (cmd.get("batch"),))
                return True
            t.set_batch(n)
        elif name == "set_rate":
            rate = cmd.get("rate")
            if rate is not None and (not isinstance(rate, (int, float)) or rate <= 0):
                self.emit("log", message="set_rate: rate must be a number > 0 or null, got %r" % (rate,))
                return True
            t.set_rate(dict((k, cmd.get(k)) for k in wire.OPEN_LOOP_KEYS))
        return True

    def shutdown(self, wait_s=5.0, announce=True):
        """Stops every tenant, waits up to wait_s for their threads, exits the process."""
        with self.lock:
            if self.exiting:
                return
            self.exiting = True
            tenants = list(self.tenants.values())
            # every tenant flagged under one hold of the lock: taking it once per tenant,
            # against thousands of tenant threads counting their batches under it, took
            # 10 ms a tenant (12 s for 1,000)
            for t in tenants:
                t.stopping = True
                t._disarm()
        for t in tenants:
            t.wake.set()
        self.wake_loads()
        deadline = time.monotonic() + wait_s
        for t in tenants:
            t.thread.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            flushed, self.outbox = self.outbox, []
        self.emit_windows(flushed)  # whole windows a tenant's stop flushed, not sent yet
        self.exit_fn(0)
