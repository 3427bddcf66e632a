"""Bad inputs beyond tests/functional/test_bad_input.py; docs/bad-input.md lists them all.

Refused inputs: one line on stderr naming the value, exit 2, no traceback, nothing
started. Image files a folder may hold are skipped and counted (or accepted and
converted); model files that are not models fail their tenant with a reason (exit 3)."""
import json
import sqlite3
import struct
import zlib

import pytest

from edgemt_testlib import require_env, run_edgemt
from storage.store import Store


def _one_line(proc, words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


CLI = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "--tenant", "mobilenet_v2", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["run", "--tenant", "mobilenet_v2", "--window", "0"], "--window: '0' is not positive"),
    (["run", "--tenant", "mobilenet_v2", "--max-duration", "abc"], "--max-duration: 'abc' is not a number"),
    (["run", "--tenant", "mobilenet_v2,isolation=fork"], "isolation='fork'; accepted: process, thread"),
    (["run", "--tenant", "mobilenet_v2,count=abc"], "count='abc' is not a number"),
    (["run", "--tenant", "mobilenet_v2,count=2.5"], "count='2.5' is not a number"),
    (["run", "--tenant", "mobilenet_v2,batch=3,batch=4"], "key 'batch' given twice"),
    (["run", "--tenant", "mobilenet_v2,batch=99999999"], "batch 99999999 is out of range"),
    (["run", "--tenant", "mobilenet_v2,threads=0"], "threads=0 is not allowed"),
    (["run", "--tenant", "mobilenet_v2,resource=gpu"], "unknown resource 'gpu'"),
    (["run", "--tenant", "mobilenet_v2,framework=torch,resource=edgetpu"], "runs only framework=tflite"),
    (["run", "--tenant", "mobilenet_v2,framework=torch,autotune=1"], "autotune= is an mxnet option"),
    (["run", "--tenant", "=3"], "unknown key ''"),
    (["run", "--tenant", ""], "empty SPEC"),
    (["run", "--tenant", "MOBILENET_V2"], "unknown model 'MOBILENET_V2'"),
    (["run", "--tenant", "file=/no/such/model.pt"], "file='/no/such/model.pt' does not exist"),
    (["env", "use", "torch", "/no/such/python"], "'/no/such/python' does not exist or is not executable"),
    (["models", "prepare", "torch"], "invalid choice: 'torch'"),
]


@pytest.mark.parametrize("args,words", CLI, ids=[c[1] for c in CLI])
def test_bad_cli_input(edgemt_home, args, words):
    _one_line(run_edgemt(*args, timeout=120), words)
    assert not (edgemt_home / "edgemt.db").exists()  # nothing started


CONFIG = [
    ("sample_hz = true\n", "key 'sample_hz'"),
    ("step = 2.5\n", "key 'step'"),
    ("theme = 5\n", "key 'theme'"),
    ("window_s = -1\n", "key 'window_s' must be positive"),
    ("colour = \"red\"\n", "unknown key 'colour'"),
    ("window_s = \n", "is not valid TOML"),
    ("[envs]\ntorch = 3\n", "[envs] must map framework names to interpreter paths"),
]


@pytest.mark.parametrize("text,words", CONFIG, ids=[c[1] for c in CONFIG])
def test_bad_config(edgemt_home, text, words):
    (edgemt_home / "config" / "edgemt" / "config.toml").write_text(text)
    _one_line(run_edgemt("run", "--tenant", "mobilenet_v2", timeout=120), words)


@pytest.fixture
def one_run_db(edgemt_home):
    db = edgemt_home / "edgemt.db"
    st = Store(db)
    run = st.create_run("run", {})
    st.end_run(run, "done")
    st.close()
    return db


EXPORT = [
    (["--table", "nosuch"], "--table 'nosuch' is not a table"),
    (["--run", "999"], "--run 999 is not in the DB; runs: 1"),
    (["--run", "x"], "--run: invalid int value: 'x'"),
    (["--out", "/no/such/folder/x.csv"], "folder /no/such/folder does not exist or is not writable"),
    (["--out", "@folder"], "is a folder"),
]


@pytest.mark.parametrize("args,words", EXPORT, ids=[c[1] for c in EXPORT])
def test_bad_export(one_run_db, edgemt_home, args, words):
    args = [str(edgemt_home) if a == "@folder" else a for a in args]
    if "--out" not in args:
        args += ["--out", str(edgemt_home / "x.csv")]
    _one_line(run_edgemt("export", *args, timeout=120), words)


def test_export_without_a_db_or_without_runs(edgemt_home):
    _one_line(run_edgemt("export", "--out", str(edgemt_home / "x.csv")), "does not exist; run something first")
    Store(edgemt_home / "edgemt.db").close()
    _one_line(run_edgemt("export", "--out", str(edgemt_home / "x.csv")), "the DB holds no run to export")


def test_malformed_db_is_refused_and_kept(edgemt_home):
    good = edgemt_home / "good.db"
    c = sqlite3.connect(good)
    c.execute("CREATE TABLE a (x)")
    c.executemany("INSERT INTO a VALUES (?)", [("x" * 500,)] * 200)
    c.commit()
    c.close()
    bad = edgemt_home / "cut.db"
    bad.write_bytes(good.read_bytes()[:6000])  # an SQLite header, then cut off
    before = bad.read_bytes()
    _one_line(run_edgemt("run", "--tenant", "mobilenet_v2", "--db", str(bad)), "is not a readable SQLite database")
    _one_line(run_edgemt("export", "--db", str(bad), "--out", str(edgemt_home / "x.csv")),
              "is not a readable SQLite database")
    assert bad.read_bytes() == before


# -- image folders --------------------------------------------------------------------------

def _png_header_only(path, width, height):
    """A PNG whose header claims width x height (a decompression bomb's first bytes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def _image_folder(folder):
    """4 usable images (RGB, greyscale, CMYK, 16-bit greyscale) and 5 unusable files."""
    from PIL import Image

    folder.mkdir()
    Image.new("RGB", (300, 240), (200, 30, 40)).save(folder / "rgb.jpg")
    Image.new("L", (256, 256), 128).save(folder / "grey.png")
    Image.new("CMYK", (256, 300), (10, 200, 30, 5)).save(folder / "cmyk.jpg")
    Image.new("I;16", (240, 240), 40000).save(folder / "grey16.png")
    good = folder / "rgb.jpg"
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not a jpeg body" * 20)
    Image.new("RGB", (256, 256), (1, 2, 3)).save(folder / "full.png")
    data = (folder / "full.png").read_bytes()
    (folder / "full.png").unlink()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "zero.jpg").write_bytes(b"")
    _png_header_only(folder / "bomb.png", 20000, 20000)
    (folder / "notes.jpg").write_text("a text file with an image's name")
    return good


def test_image_folder_skips_unusable_files_and_converts_the_rest(edgemt_home):
    require_env("tflite")
    images = edgemt_home / "images"
    _image_folder(images)
    proc = run_edgemt("run", "--tenant", "mobilenet_v2,framework=tflite,threads=1", "--images", str(images),
                      "--duration", "1", "--window", "0.5", "--json", check=0)
    assert json.loads(proc.stdout)["tenants"][0]["images"] > 0
    c = sqlite3.connect(edgemt_home / "edgemt.db")
    (skipped,), = c.execute("SELECT images_skipped FROM tenants").fetchall()
    (detail,), = c.execute("SELECT detail FROM events WHERE kind = 'loaded'").fetchall()
    c.close()
    assert skipped == 5  # corrupt, truncated, zero-byte, 20000x20000 header, text
    assert json.loads(detail)["images_used"] == 4  # RGB, greyscale, CMYK, 16-bit greyscale


def test_folder_with_only_a_decompression_bomb_is_refused(edgemt_home):
    folder = edgemt_home / "bomb"
    folder.mkdir()
    _png_header_only(folder / "huge.png", 20000, 20000)
    _one_line(run_edgemt("run", "--tenant", "mobilenet_v2", "--images", str(folder)), "holds no readable image")


# -- model files that are not models ---------------------------------------------------------------

@pytest.mark.parametrize("spec,words", [
    ("squeezenet1_0,framework=torch,threads=1,file={}", "is neither a TorchScript file nor a state dict"),
    ("mobilenet_v2,framework=tflite,threads=1,file={}", "is not a TFLite model"),
], ids=["torch", "tflite"])
def test_model_file_that_is_not_a_model_is_bad_input(edgemt_home, spec, words):
    """The file is loaded and run once in a child of its framework before anything starts."""
    require_env(spec.split("framework=")[1].split(",")[0])
    model = edgemt_home / "notes.bin"
    model.write_text("these are my notes, not a model\n" * 10)
    proc = run_edgemt("run", "--tenant", spec.format(model), "--duration", "1", "--json", timeout=300)
    _one_line(proc, words)
    assert "does not run on" in proc.stderr
    assert not (edgemt_home / "edgemt.db").exists()  # nothing started


def test_model_file_whose_input_size_does_not_match_is_bad_input(edgemt_home):
    """A TorchScript model traced for 64x64 inputs, given size=96: its first call fails."""
    import subprocess

    python = require_env("torch")
    path = edgemt_home / "fixed64.pt"
    subprocess.run([python, "-c", (
        "import torch, sys\n"
        "m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(4*64*64, 10))\n"
        "torch.jit.trace(m.eval(), torch.zeros(1, 3, 64, 64)).save(sys.argv[1])\n"), str(path)], check=True)
    ok = run_edgemt("run", "--tenant", f"file={path},size=64,threads=1", "--duration", "1", "--json", timeout=300)
    assert ok.returncode == 0, ok.stderr
    proc = run_edgemt("run", "--tenant", f"file={path},size=96,threads=1", "--duration", "1", "--json", timeout=300)
    _one_line(proc, "does not run on torch@cpu")
