"""The start command's spec is built once (runners/child_spec.py) and has exactly the keys
the protocol lists (runners/child/wire.py SPEC_KEYS): the supervisor's carries every one,
the --check's every one but the run's."""
import pytest

from runners.child import wire
from runners.child_spec import RUN_KEYS, child_spec
from runners.spec import TenantSpec, parse_spec
from runners.supervisor import Supervisor

RUN = dict(images=None, include_transfer=True, window_s=0.5, epoch=123.0, warmup_batches=3)


def test_a_tenant_spec_has_every_protocol_key():
    spec = parse_spec("mobilenet_v2,framework=tflite,threads=2,batch=8")
    out = child_spec(spec, batch=4, models_dir="/m", **RUN)
    assert set(out) == set(wire.SPEC_KEYS)
    assert out["model"] == "mobilenet_v2" and out["batch"] == 4 and out["threads"] == 2
    assert out["size"] == spec.input_size and out["models_dir"] == "/m" and out["epoch"] == 123.0


def test_an_open_loop_spec_carries_its_arrivals_and_each_tenant_its_own_seed():
    spec = parse_spec("mobilenet_v2,rate=12.5,arrival=poisson,seed=7,queue=9,slo=p90:80")
    out = [child_spec(spec, batch=1, models_dir="/m", stream=i, **RUN) for i in range(2)]
    assert out[0]["rate"] == 12.5 and out[0]["arrival"] == "poisson" and out[0]["queue"] == 9
    assert out[0]["slo_s"] == pytest.approx(0.08)
    assert [o["seed"] for o in out] == [7, 8]
    closed = child_spec(parse_spec("mobilenet_v2"), batch=1, models_dir="/m", **RUN)
    assert closed["rate"] is None and closed["arrival"] is None  # closed loop stays the default


def test_a_check_spec_leaves_out_the_run_keys_only():
    spec = TenantSpec(model="mine", file="/x/mine.pt", size=96)
    out = child_spec(spec, batch=1, models_dir="/m")
    assert set(out) == set(wire.SPEC_KEYS) - set(RUN_KEYS)
    assert out["model"] is None and out["file"] == "/x/mine.pt" and out["size"] == 96


def test_run_keys_come_all_or_none():
    with pytest.raises(TypeError):
        child_spec(parse_spec("mobilenet_v2"), batch=1, models_dir="/m", window_s=1.0)


def test_the_supervisor_sends_the_shared_spec(tmp_path):
    sup = Supervisor(store=None, run_id=1, python_for=lambda fw: "python", window_s=0.25, images="/imgs",
                     warmup_batches=5, logs_dir=tmp_path, models_dir=tmp_path, t0=42.0)
    spec = parse_spec("resnet50,framework=torch,batch=2")
    assert sup.child_spec(spec, 2) == child_spec(spec, batch=2, models_dir=str(tmp_path), images="/imgs",
                                                  include_transfer=False, window_s=0.25, epoch=42.0,
                                                  warmup_batches=5)
