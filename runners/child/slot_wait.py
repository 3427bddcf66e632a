"""Waiting for an open-loop query's slot: a plain sleep, or at real-time priority (``rt``).

A plain wait sleeps on the tenant's wake event until the slot, so a query starts as late as
the OS wakes the thread: 0.1-2 ms on an idle Linux, tens of milliseconds on a loaded or
virtual machine (docs/benchmarks.md, "Open loop"). That lateness is the query's start lag
and, since latency counts from the slot, part of its latency.

With ``rt`` (the SPEC's ``rt=on``) the tenant thread waits at SCHED_FIFO priority
(Linux; CAP_SYS_NICE or an ``rtprio`` limit), wakes SPIN_S before the slot and spins
to it: a real-time thread is run ahead of every normal one the moment its timer fires, and
the spin takes the timer's slack out. Only the waiting is real-time: the thread is given
its normal policy back before each batch, so a saturated rt tenant cannot starve the board
(its batches compete like anyone's; it spins at most SPIN_S a query).

Python 3.6-compatible; imports nothing of edgemt.
"""
import os
import time

SPIN_S = 0.001  # woken this long before the slot, then spinning: a timer's usual slack
# At most this share of the time since the tenant began waiting is spent spinning: at a
# high rate (slots under 20 ms apart) some slots are waited for by sleeping alone (still at
# real-time priority), so an rt tenant never keeps a core busy at real-time priority.
SPIN_SHARE = 0.05
# SCHED_FIFO priority of the waiting thread: above every normal thread, below the
# kernel's own real-time threads (interrupt threads run at 50, watchdogs at 99)
RT_PRIORITY = 10


class RealtimeRefused(RuntimeError):
    """The OS does not let this process wait at real-time priority."""


def realtime_refusal():
    """Why this thread cannot take SCHED_FIFO (one line), or None when it can: tries it and
    gives the thread its policy back."""
    if not hasattr(os, "sched_setscheduler"):
        return "real-time priority needs Linux (os.sched_setscheduler)"
    try:
        before = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
    except OSError as exc:
        return _refused(exc)
    os.sched_setscheduler(0, before[0], before[1])
    return None


def _refused(exc):
    return ("the OS refused real-time priority (%s): it needs CAP_SYS_NICE (root has it outside most "
            "containers) or an rtprio limit of at least %d (/etc/security/limits.conf)" % (exc.strerror or exc, RT_PRIORITY))


class SlotWaiter(object):
    """How one tenant thread waits for its slots. Call ``wait`` from that thread only and
    ``normal`` before the thread does anything but wait (Linux's policy is per thread)."""

    def __init__(self, rt=False):
        self.rt = bool(rt)
        self.saved = None  # (policy, param) to give back while raised; None: not raised
        self.since = None  # when this waiter first waited (monotonic)
        self.spun = 0.0  # seconds spent spinning since then

    def wait(self, wake, due):
        """Waits until monotonic ``due`` or until ``wake`` is set (cleared then); a wait is at
        most 0.5 s, so the caller looks at its commands at least that often."""
        now = time.monotonic()
        spin = False
        if self.rt:
            self._raise()
            if self.since is None:
                self.since = now
            spin = self.spun <= SPIN_SHARE * (now - self.since)
        delay = due - (SPIN_S if spin else 0.0) - now
        if delay > 0:
            if wake.wait(min(delay, 0.5)):
                wake.clear()
                return
            if delay > 0.5:
                return
        if spin:
            began = t = time.monotonic()
            while t < due:
                t = time.monotonic()
            self.spun += t - began

    def normal(self):
        """Gives the thread its own policy back (a no-op when it has it)."""
        if self.saved is not None:
            policy, param = self.saved
            self.saved = None
            os.sched_setscheduler(0, policy, param)

    def _raise(self):
        if self.saved is not None:
            return
        saved = os.sched_getscheduler(0), os.sched_getparam(0)
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        except OSError as exc:
            raise RealtimeRefused("rt=on: " + _refused(exc))
        self.saved = saved
