"""onnxruntime through the real `edgemt run`: bad inputs (a corrupt .onnx, a model whose
input is not an image batch, a provider that does not load here) are one line, exit 2,
nothing started; tenants run as threads (the default) and as processes."""
import json
import sqlite3

import pytest

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "child"))
from child_harness import run_in_env  # noqa: E402
from edgemt_testlib import ensure_onnx_models, require_env, run_edgemt


def _tenant_rows(db):
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT COUNT(*) FROM tenants").fetchone()[0]
    finally:
        c.close()


def _model(tmp_path, name, shape):
    """A one-Relu ONNX model with the given input shape, written in the onnxruntime environment."""
    path = tmp_path / name
    run_in_env("onnxruntime", f'''
from onnx import TensorProto, helper, save
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, {shape!r})
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, {shape!r})
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
save(m, {str(path)!r})
''')
    return path


@pytest.mark.parametrize("case,words", [
    ("corrupt", "does not load in onnxruntime"),
    ("flat", "takes a 2-d input [1, 10]; edgemt feeds image batches N x 3 x H x W"),
    ("gray", "takes 1 channels first; edgemt feeds N x 3 x H x W"),
    ("cuda", "onnxruntime@cuda:0 needs onnxruntime's CUDAExecutionProvider, which does not load here"),
    ("tensorrt", "install the GPU build"),
])
def test_bad_onnxruntime_input_is_one_line_and_starts_nothing(edgemt_home, tmp_path, case, words):
    require_env("onnxruntime")
    if case == "corrupt":
        bad = tmp_path / "corrupt.onnx"
        bad.write_bytes(b"\x08\x07this is not a protobuf of a model" * 10)
        spec = f"framework=onnxruntime,file={bad}"
    elif case == "flat":
        spec = f"framework=onnxruntime,file={_model(tmp_path, 'flat.onnx', [1, 10])}"
    elif case == "gray":
        spec = f"framework=onnxruntime,file={_model(tmp_path, 'gray.onnx', [1, 1, 64, 64])}"
    else:
        spec = f"resnet18,framework=onnxruntime,resource={case}:0"
    db = edgemt_home / "edgemt.db"
    proc = run_edgemt("run", "--tenant", spec, "--duration", "1", timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not db.exists() or _tenant_rows(db) == 0


def test_a_users_onnx_file_runs(edgemt_home, tmp_path):
    """A user's own image model (a fixed 64x64 input) runs; the file's side is what is fed."""
    require_env("onnxruntime")
    path = _model(tmp_path, "mine.onnx", [1, 3, 64, 64])
    proc = run_edgemt("run", "--tenant", f"framework=onnxruntime,file={path},threads=1", "--duration", "1", "--json",
                      timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (t,) = out["tenants"]
    assert (t["framework"], t["resource"], t["model"]) == ("onnxruntime", "cpu", "mine") and t["images"] > 0


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_two_tenants_run_in_either_isolation(edgemt_home, isolation):
    require_env("onnxruntime")
    ensure_onnx_models(["mobilenet_v2"], "int8")
    proc = run_edgemt("run", "--tenant", f"mobilenet_v2,framework=onnxruntime,count=2,threads=1,isolation={isolation}",
                      "--tenant", "mobilenet_v2,framework=onnxruntime,threads=1,precision=int8",
                      "--duration", "2", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    tenants = out["tenants"]
    assert len(tenants) == 3 and all(t["images"] > 0 for t in tenants), tenants
    c = sqlite3.connect(edgemt_home / "edgemt.db")
    rows = c.execute("SELECT isolation, runner_pid FROM tenants ORDER BY id").fetchall()
    c.close()
    pids = {pid for _, pid in rows[:2]}
    assert [iso for iso, _ in rows[:2]] == [isolation] * 2
    assert len(pids) == (1 if isolation == "thread" else 2)
