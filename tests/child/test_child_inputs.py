"""Input images: the built-in set, image folders (odd modes, broken files), per-framework normalisation."""
import json

import pytest

from child_harness import IMAGES, run_in_env

DIGEST = (
    "import hashlib, json, child_inputs\n"
    "raw = child_inputs.builtin_raw()\n"
    "a = child_inputs.builtin_images(224); b = child_inputs.builtin_images(299)\n"
    "print(json.dumps([hashlib.sha256(raw.tobytes()).hexdigest(), hashlib.sha256(a.tobytes()).hexdigest(),\n"
    "                  list(raw.shape), list(a.shape), list(b.shape), str(a.dtype),\n"
    "                  len({hashlib.sha256(x.tobytes()).hexdigest() for x in raw}), float(raw.std())]))\n"
)


def test_builtin_set_is_deterministic_across_processes_and_numpy_versions():
    torch_side = json.loads(run_in_env("torch", DIGEST))  # numpy 2
    again = json.loads(run_in_env("torch", DIGEST))
    mxnet_side = json.loads(run_in_env("mxnet", DIGEST))  # numpy 1.23
    assert torch_side == again
    assert torch_side[:2] == mxnet_side[:2]
    assert torch_side[2] == [16, 256, 256, 3]
    assert torch_side[3] == [16, 224, 224, 3] and torch_side[4] == [16, 299, 299, 3]
    assert torch_side[5] == "uint8"
    assert torch_side[6] == 16  # 16 different images
    assert torch_side[7] > 20  # not flat


def test_mixed_folder_skips_broken_files_and_reads_every_mode():
    out = run_in_env(
        "torch",
        "import json, child_inputs\n"
        f"imgs, skipped = child_inputs.folder_images({str(IMAGES / 'mixed')!r}, 224)\n"
        "print(json.dumps([list(imgs.shape), str(imgs.dtype), skipped]))\n",
    )
    shape, dtype, skipped = json.loads(out)
    # rgb jpeg, greyscale png, CMYK jpeg, RGBA png, palette gif are used;
    # truncated jpeg, zero-byte file, text file, fake png are skipped
    assert shape == [5, 224, 224, 3] and dtype == "uint8"
    assert skipped == 4


def test_class_folders_are_read_in_sorted_order():
    out = run_in_env(
        "torch",
        "import json, os, child_inputs\n"
        f"files = child_inputs.list_files({str(IMAGES / 'classes')!r})\n"
        f"print(json.dumps([os.path.relpath(f, {str(IMAGES / 'classes')!r}) for f in files]))\n",
    )
    assert json.loads(out) == ["cat/0.jpg", "cat/1.jpg", "dog/0.jpg", "dog/1.jpg"]


def test_crop_keeps_the_center_and_size():
    out = run_in_env(
        "torch",
        "import json, numpy as np, child_inputs\n"
        "from PIL import Image\n"
        "a = np.zeros((300, 600, 3), np.uint8); a[:, 250:350] = 255\n"  # a white band in the middle
        "c = np.asarray(child_inputs.crop_image(Image.fromarray(a), 224))\n"
        "print(json.dumps([list(c.shape), int(c[:, 112].mean()), int(c[:, 0].mean())]))\n",
    )
    shape, centre, edge = json.loads(out)
    assert shape == [224, 224, 3] and centre == 255 and edge == 0


def test_normalisations():
    out = run_in_env(
        "torch",
        "import json, numpy as np, child_inputs as ci\n"
        "b = np.full((2, 4, 4, 3), 255, np.uint8); b[1] = 0\n"
        "t = ci.normalise(b, 'imagenet_nchw'); f = ci.normalise(b, 'tf'); c = ci.normalise(b, 'caffe')\n"
        "q = ci.quantise(f, np.int8, 1 / 127.5, -1)\n"
        "print(json.dumps([list(t.shape), float(t[0, 0, 0, 0]), float(f.max()), float(f.min()),\n"
        "                  float(c[0, 0, 0, 0]), float(c[0, 0, 0, 2]), int(q.max()), int(q.min()), str(q.dtype)]))\n",
    )
    shape, t00, fmax, fmin, c_b, c_r, qmax, qmin, qdtype = json.loads(out)
    assert shape == [2, 3, 4, 4]
    assert t00 == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)
    assert (fmax, fmin) == (1.0, -1.0)
    assert c_b == pytest.approx(255 - 103.939, rel=1e-5) and c_r == pytest.approx(255 - 123.68, rel=1e-5)
    assert (qmax, qmin, qdtype) == (126, -128, "int8")


def test_tenant_on_the_mixed_folder_reports_skips(child_factory):
    c = child_factory("torch")
    c.start("f", model="squeezenet1_0", images=str(IMAGES / "mixed"), batch=2)
    loaded = c.wait_ev("loaded", "f")
    assert loaded["images_used"] == 5 and loaded["images_skipped"] == 4
    c.windows("f", 1)


def test_folder_without_usable_images_fails_the_tenant(child_factory, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("no images here")
    c = child_factory("torch")
    c.start("n", model="squeezenet1_0", images=str(tmp_path))
    reason = c.wait_ev("failed", "n")["reason"]
    assert "no usable image in" in reason and str(tmp_path) in reason and "2 unreadable" in reason


def test_missing_folder_fails_the_tenant(child_factory, tmp_path):
    c = child_factory("torch")
    c.start("m", model="squeezenet1_0", images=str(tmp_path / "nope"))
    assert "does not exist" in c.wait_ev("failed", "m")["reason"]
