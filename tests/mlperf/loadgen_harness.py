"""The official MLPerf LoadGen driving a small system under test whose latencies are set by the test.

``run_loadgen`` runs one LoadGen test (Python bindings of ``mlcommons-loadgen``) on a
``DelaySUT``: each sample completes a chosen time after LoadGen issued it, from one timer
thread. It returns what LoadGen reported (the detail log's keys and the summary) and
what it measured per sample (the trace's ``complete_ns``: LoadGen's own latency of the
sample, from its scheduled time to its completion), so a test can hand edgemt's
statistics exactly the latencies LoadGen judged.
"""
import heapq
import json
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List

import pytest

if platform.machine() != "x86_64" or sys.version_info < (3, 9):
    # mlcommons-loadgen publishes x86 wheels for Python 3.9+ only (the test extra installs
    # it there); where it can be installed (CI), a missing LoadGen is an error, not a skip.
    pytest.importorskip("mlperf_loadgen")
import mlperf_loadgen as lg  # noqa: E402

SCENARIO = {
    "single-stream": lg.TestScenario.SingleStream,
    "multi-stream": lg.TestScenario.MultiStream,
    "server": lg.TestScenario.Server,
    "offline": lg.TestScenario.Offline,
}


class DelaySUT:
    """Completes sample k (counted in issue order) ``latency_s(k)`` seconds after its query was issued.

    All the samples of a query that are due together complete in one
    QuerySamplesComplete call, so a MultiStream query's samples share their completion time.
    """

    def __init__(self, latency_s: Callable[[int], float]):
        self.latency_s = latency_s
        self.issued_at: List[float] = []  # time.monotonic() of each IssueQuery call
        self._due = []  # heap of (due time, sample number, response id)
        self._samples = 0
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._complete_when_due, daemon=True)
        self._thread.start()

    def issue_query(self, samples):
        now = time.monotonic()
        with self._cv:
            self.issued_at.append(now)
            for sample in samples:
                heapq.heappush(self._due, (now + self.latency_s(self._samples), self._samples, sample.id))
                self._samples += 1
            self._cv.notify()

    def flush_queries(self):
        pass

    def close(self):
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=30)

    def _complete_when_due(self):
        while True:
            with self._cv:
                while not self._stop and not self._due:
                    self._cv.wait()
                if not self._due:
                    return
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._cv.wait(wait)
                    continue
                due_now = self._due[0][0]
                ready = []
                while self._due and self._due[0][0] <= due_now:
                    ready.append(heapq.heappop(self._due)[2])
            lg.QuerySamplesComplete([lg.QuerySampleResponse(rid, 0, 0) for rid in ready])


@dataclass
class TraceSample:
    query_seq: int
    sample_seq: int
    scheduled_us: float  # the query's scheduled time on the trace's clock (µs)
    latency_ns: int  # LoadGen's latency of the sample: scheduled -> complete


@dataclass
class LoadGenRun:
    detail: Dict[str, object]  # the detail log's keys (the last value of each)
    summary: str
    samples: List[TraceSample]  # in sample order
    issued_at: List[float]  # the SUT's clock at each IssueQuery
    settings: Dict[str, object] = field(default_factory=dict)

    @property
    def sample_latencies_ns(self) -> List[int]:
        return [s.latency_ns for s in self.samples]

    def query_latencies_ns(self) -> List[int]:
        """Per query, its last sample's latency (a query is done when its last sample is)."""
        per_query: Dict[int, int] = {}
        for s in self.samples:
            per_query[s.query_seq] = max(per_query.get(s.query_seq, 0), s.latency_ns)
        return [per_query[q] for q in sorted(per_query)]

    def scheduled_offsets_ns(self) -> List[int]:
        """Each query's scheduled time after the first query's, in ns (the trace prints µs to 3 decimals)."""
        first: Dict[int, float] = {}
        for s in self.samples:
            first.setdefault(s.query_seq, s.scheduled_us)
        origin = first[min(first)]
        return [int(round((first[q] - origin) * 1000)) for q in sorted(first)]


def run_loadgen(tmp_path: Path, scenario: str, latency_s: Callable[[int], float],
                sample_count: int = 64, **settings) -> LoadGenRun:
    """One PerformanceOnly LoadGen test of ``scenario`` with ``settings`` (TestSettings fields)."""
    test_settings = lg.TestSettings()
    test_settings.scenario = SCENARIO[scenario]
    test_settings.mode = lg.TestMode.PerformanceOnly
    for name, value in settings.items():
        setattr(test_settings, name, value)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = True

    sut_impl = DelaySUT(latency_s)
    sut = lg.ConstructSUT(sut_impl.issue_query, sut_impl.flush_queries)
    qsl = lg.ConstructQSL(sample_count, sample_count, lambda ids: None, lambda ids: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, test_settings, log_settings)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
        sut_impl.close()
    return LoadGenRun(
        detail=read_detail(tmp_path / "mlperf_log_detail.txt"),
        summary=(tmp_path / "mlperf_log_summary.txt").read_text(),
        samples=read_trace_samples(tmp_path / "mlperf_log_trace.json"),
        issued_at=sut_impl.issued_at,
        settings=dict(settings),
    )


def read_detail(path: Path) -> Dict[str, object]:
    """The ``:::MLLOG {json}`` lines of the detail log, key -> value (a later line wins)."""
    detail: Dict[str, object] = {}
    for line in path.read_text().splitlines():
        if line.startswith(":::MLLOG "):
            entry = json.loads(line[len(":::MLLOG "):])
            detail[entry["key"]] = entry["value"]
    return detail


def read_trace_samples(path: Path) -> List[TraceSample]:
    """The trace's per-sample begin events. The trace as a whole is not valid JSON (LoadGen
    quotes some keys twice), but each event is one line, and those of samples parse."""
    samples = []
    for line in path.read_text().splitlines():
        if line.startswith('{"name":"Sample"') and '"ph":"b"' in line:
            event = json.loads(line.rstrip(","))
            args = event["args"]
            samples.append(TraceSample(args["query_seq"], args["sample_seq"], event["ts"], args["complete_ns"]))
    samples.sort(key=lambda s: s.sample_seq)
    return samples
