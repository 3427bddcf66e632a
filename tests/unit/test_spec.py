import pytest

from runners.errors import BadInput
from runners.spec import parse_spec


def test_full_spec():
    s = parse_spec("mobilenet_v2,framework=torch,resource=cpu,batch=4,count=2,isolation=process,threads=1")
    assert (s.model, s.framework, s.resource, s.batch, s.count, s.isolation, s.threads) == (
        "mobilenet_v2", "torch", "cpu", 4, 2, "process", 1)
    assert s.placement == "torch@cpu"


def test_defaults_and_framework_isolation():
    s = parse_spec("resnet18")
    assert (s.framework, s.resource, s.batch, s.count, s.isolation, s.threads) == ("torch", "cpu", 1, 1, "process", None)
    assert parse_spec("mobilenet_v1,framework=tflite").isolation == "thread"
    assert parse_spec("inception_v3").input_size == 299


def test_round_trip_through_str():
    s = parse_spec("squeezenet1_0,batch=2,count=3,isolation=thread,threads=2")
    assert parse_spec(str(s)) == s


@pytest.mark.parametrize("text,words", [
    ("", "empty SPEC"),
    ("nosuchnet", "unknown model 'nosuchnet'"),
    ("mobilenet_v2,framework=caffe", "unknown framework 'caffe'"),
    ("vgg16,framework=tflite", "not supported by tflite"),
    ("mobilenet_v2,batch=0", "batch 0 is out of range"),
    ("mobilenet_v2,batch=-3", "batch -3 is out of range"),
    ("mobilenet_v2,batch=big", "'big' is not a whole number"),
    ("mobilenet_v2,count=0", "count='0' is out of range; count takes a whole number from 1 to 256"),
    ("mobilenet_v2,colour=red", "unknown key 'colour'"),
    ("mobilenet_v2,,batch=2", "empty item"),
    ("mobilenet_v2,batch", "not key=value"),
    ("mobilenet_v2,batch=1,batch=2", "given twice"),
    ("mobilenet_v2,resource=gpu0", "unknown resource 'gpu0'"),
    ("mobilenet_v2,resource=edgetpu", "runs only framework=tflite"),
    ("mobilenet_v2,framework=tflite,resource=cuda:0", "tflite does not run on cuda:0"),
    ("mobilenet_v2,isolation=fiber", "isolation='fiber'"),
    ("mobilenet_v2,threads=0", "threads='0' is out of range; threads takes a whole number from 1 to"),
    ("mobilenet_v2,autotune=1", "autotune= is an mxnet option"),
    ("mobilenet_v2,framework=mxnet,autotune=maybe", "autotune='maybe'"),
    ("mobilenet_v2,file=/no/such/file.pt", "does not exist"),
    ("framework=torch", "names no model"),
    # only plain ASCII decimal integers: Python's int() takes the first two silently
    ("mobilenet_v2,batch=1_0", "batch '1_0' is not a whole number"),
    ("mobilenet_v2,batch=\uff12", "is not a whole number"),
    ("mobilenet_v2,batch=2.0", "batch '2.0' is not a whole number"),
    ("mobilenet_v2,count=0x10", "count='0x10' is not a whole number"),
    ("mobilenet_v2,threads=100000", "threads='100000' is out of range"),
])
def test_bad_specs_name_the_value(text, words):
    with pytest.raises(BadInput) as err:
        parse_spec(text)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_file_spec_takes_stem_as_model(tmp_path):
    f = tmp_path / "mynet.pt"
    f.write_bytes(b"x")
    s = parse_spec(f"file={f},size=160")
    assert s.model == "mynet" and s.file == str(f) and s.input_size == 160


def test_count_caps_by_isolation():
    assert parse_spec("mobilenet_v2,count=256").count == 256
    with pytest.raises(BadInput, match="count=257 is over the process isolation limit of 256; use isolation=thread"):
        parse_spec("mobilenet_v2,count=257")
    assert parse_spec("mobilenet_v2,framework=tflite,count=1100").count == 1100
    with pytest.raises(BadInput, match="count=100000 is over the thread isolation limit of 4096"):
        parse_spec("mobilenet_v2,framework=tflite,count=100000")


def test_size_is_for_file_models_only(tmp_path):
    with pytest.raises(BadInput, match="size= is for file= models; mobilenet_v2 takes 224x224"):
        parse_spec("mobilenet_v2,size=7")
    f = tmp_path / "m.pt"
    f.write_bytes(b"x")
    with pytest.raises(BadInput, match="size='7' is out of range; size takes a whole number from 32 to 2048"):
        parse_spec(f"file={f},size=7")


def test_edgetpu_compiled_model_on_cpu_says_what_would_happen(tmp_path):
    # The layout edgetpu_compiler writes: a TFLite flatbuffer (identifier TFL3 at bytes 4-8)
    # whose operator codes name the custom op "edgetpu-custom-op".
    compiled = tmp_path / "mobilenet_v2_int8_edgetpu.tflite"
    compiled.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64 + b"edgetpu-custom-op\x00" + b"\x00" * 32)
    with pytest.raises(BadInput, match="compiled for the EdgeTPU .* use resource=edgetpu, or the un-compiled model"):
        parse_spec(f"mobilenet_v2,framework=tflite,file={compiled}")
    # on an EdgeTPU resource it is what is wanted
    assert parse_spec(f"mobilenet_v2,framework=tflite,resource=edgetpu,file={compiled}").file == str(compiled)
    plain = tmp_path / "mobilenet_v2_int8.tflite"
    plain.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 100)
    assert parse_spec(f"mobilenet_v2,framework=tflite,file={plain}").file == str(plain)


def test_threads_follow_the_cores(monkeypatch):
    from runners import limits

    monkeypatch.setattr(limits, "cores", lambda: 2)
    assert parse_spec("mobilenet_v2,threads=8").threads == 8
    with pytest.raises(BadInput, match=r"threads='9' is out of range; threads takes a whole number from 1 to 8 "
                                       r"\(4 a core, 2 cores here\)"):
        parse_spec("mobilenet_v2,threads=9")


def test_procs_spreads_thread_tenants_over_runner_processes():
    from runners.spec import check_total

    s = parse_spec("mobilenet_v2,framework=tflite,count=2000,procs=2")
    assert s.isolation == "thread" and s.procs == 2 and "procs=2" in str(s)
    assert parse_spec("mobilenet_v2,framework=tflite,count=3").procs is None
    check_total([s])
    with pytest.raises(BadInput, match="procs= spreads thread tenants.*needs isolation=thread"):
        parse_spec("mobilenet_v2,framework=torch,count=2,procs=2")
    with pytest.raises(BadInput, match="procs='0' is out of range; procs takes a whole number from 1 to 64"):
        parse_spec("mobilenet_v2,framework=tflite,procs=0")


def test_open_loop_keys(tmp_path):
    s = parse_spec("mobilenet_v2,rate=15")
    assert (s.rate, s.arrival, s.open_loop, s.slo_ms) == (15.0, "constant", True, None)
    s = parse_spec("mobilenet_v2,rate=2.5,arrival=poisson,seed=4,queue=10,slo=p90:120")
    assert (s.arrival, s.seed, s.queue, s.slo_pct, s.slo_ms) == ("poisson", 4, 10, 90.0, 120.0)
    assert parse_spec(str(s)) == s  # the SPEC a run stores reads back the same
    assert parse_spec("mobilenet_v2,rate=1,slo=50").slo_pct == 99.0
    trace = tmp_path / "gaps.txt"
    trace.write_text("0.1\n0.3\n")
    s = parse_spec(f"mobilenet_v2,arrival=trace:{trace}")
    assert (s.arrival, s.trace, s.rate) == ("trace", str(trace), 5.0)
    assert parse_spec(str(s)) == s
    closed = parse_spec("mobilenet_v2")
    assert not closed.open_loop and closed.rate is None


def test_rt_key_is_open_loop_and_kept_by_a_rate_change():
    from runners.child_spec import child_spec
    from runners.spec import with_rate

    s = parse_spec("mobilenet_v2,rate=15,rt=on")
    assert s.rt is True and str(s).endswith(",rt=on")
    assert parse_spec(str(s)) == s
    assert parse_spec("mobilenet_v2,rate=15,rt=off").rt is None  # off: the default, not kept
    assert parse_spec("mobilenet_v2,rate=15,rt=1") == s
    assert child_spec(s, batch=1, models_dir="m")["rt"] is True
    assert with_rate(s, 30).rt is True  # the UI's r keeps it
    assert with_rate(s, 0).rt is None  # closed loop has no slots to wait for
    assert with_rate(parse_spec("mobilenet_v2"), 5).rt is None
    with pytest.raises(BadInput, match="rt= is for open-loop tenants; give rate="):
        parse_spec("mobilenet_v2,rt=on")
    with pytest.raises(BadInput, match="rt='soon'; accepted: 0, 1, true, false, on, off"):
        parse_spec("mobilenet_v2,rate=1,rt=soon")


def test_a_searchs_spec_has_open_loop_keys_without_a_rate():
    # edgemt capacity sets the rate; the SPEC's arrival, seed, queue and rt are the tenant's
    s = parse_spec("mobilenet_v2,arrival=poisson,seed=3,queue=4,rt=on", rate_set_later=True)
    assert (s.rate, s.arrival, s.seed, s.queue, s.rt) == (None, "poisson", 3, 4, True)
    assert str(s).endswith(",arrival=poisson,seed=3,queue=4,rt=on")
    assert parse_spec("mobilenet_v2,queue=4", rate_set_later=True).arrival is None
    with pytest.raises(BadInput, match="seed= seeds arrival=poisson; arrival=constant has no randomness"):
        parse_spec("mobilenet_v2,seed=3", rate_set_later=True)
    with pytest.raises(BadInput, match="arrival=poisson needs rate="):
        parse_spec("mobilenet_v2,arrival=poisson")  # a run's SPEC does need one
