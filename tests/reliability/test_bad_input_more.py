"""Bad inputs that need more than one edgemt command each, or a torch child; the table of
one-command cases is tests/bad_input_cases.py (run by tests/functional/test_bad_input.py).

Refused inputs: one line on stderr naming the value, exit 2, no traceback, nothing
started. Image files a folder may hold are skipped and counted (or accepted and
converted); model files that are not models fail their tenant with a reason (exit 3)."""
import json
import sqlite3
import struct
import zlib

import pytest

from edgemt_testlib import require_env, run_edgemt


def _one_line(proc, words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


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


# -- model files that are not models ---------------------------------------------------------------

@pytest.mark.parametrize("spec,words", [
    ("squeezenet1_0,framework=torch,threads=1,file={}", "is neither a TorchScript file nor a state dict"),
], ids=["torch"])  # tflite's is a row of tests/bad_input_cases.py
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
