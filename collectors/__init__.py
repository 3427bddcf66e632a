"""Telemetry: host, GPU, Jetson, INA219, EdgeTPU and throttling collectors.

Importing this package loads no hardware library and no DL framework: every
optional package (pynvml, jtop, ina219) is imported inside its collector when
availability is first probed.
"""
from .base import Collector, Metric, Snapshot
from .registry import default_collectors, describe
from .edgetpu import enumerate_edgetpus
from .fingerprint import fingerprint
from .sampler import Sampler

__all__ = ["Collector", "Metric", "Snapshot", "Sampler", "default_collectors", "describe",
           "enumerate_edgetpus", "fingerprint"]
