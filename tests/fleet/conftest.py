"""The fleet tests' cluster: tests/fleet/fleet_cluster.py, started once for the module and
stopped in the finalizer (no Ray process may be left)."""
import pytest

import edgemt_testlib
from fleet.fleet_cluster import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    edgemt_testlib.require_env("tflite")
    edgemt_testlib.ensure_tflite_model("mobilenet_v2")
    c = Cluster(tmp_path_factory.mktemp("fleet"))
    try:
        c.start()
        yield c
    finally:
        left = c.stop()
        assert not left, f"Ray processes left after the cluster stopped: {left}"
