"""Input images for runner children: a built-in deterministic set, or a folder.

Everything here returns uint8 RGB arrays of shape (N, size, size, 3) ("NHWC"); each
backend normalises and lays them out for its framework (see ``normalise``).
Preprocessing is the usual ImageNet evaluation one: resize the shorter side to
256 * size / 224 (256 for 224 inputs, 342 for 299), then center-crop size x size.
"""
import os

import numpy as np

import image_files

MAX_IMAGES = 256  # usable images read from a folder at most
BUILTIN_COUNT = 16
BUILTIN_SIDE = 256
BUILTIN_SEED = 20240601

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


class NoImages(Exception):
    pass


def builtin_raw():
    """16 RGB 256x256 uint8 images, the same on every run and every numpy version.

    All arithmetic is float64 so that numpy 2's scalar promotion (NEP 50) and numpy 1's
    value-based casting give the same bytes.

    Gradients, filled shapes and noise, from a fixed-seed legacy RandomState (whose
    stream numpy keeps stable across versions)."""
    rs = np.random.RandomState(BUILTIN_SEED)
    side = BUILTIN_SIDE
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) / (side - 1)
    out = np.empty((BUILTIN_COUNT, side, side, 3), dtype=np.uint8)
    for i in range(BUILTIN_COUNT):
        kind = i % 4
        c0 = rs.randint(0, 256, size=3).astype(np.float64)
        c1 = rs.randint(0, 256, size=3).astype(np.float64)
        if kind == 0:  # linear gradient at an angle
            a = rs.uniform(0, np.pi)
            t = (np.cos(a) * xx + np.sin(a) * yy)
            t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
            img = c0 + (c1 - c0) * t[..., None]
        elif kind == 1:  # disc on a background
            cx, cy, r = rs.uniform(0.3, 0.7), rs.uniform(0.3, 0.7), rs.uniform(0.15, 0.35)
            inside = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            img = np.where(inside[..., None], c1, c0)
        elif kind == 2:  # rectangles and stripes
            x0, x1 = sorted(rs.uniform(0, 1, size=2))
            y0, y1 = sorted(rs.uniform(0, 1, size=2))
            inside = (xx >= x0) & (xx <= x1) & (yy >= y0) & (yy <= y1)
            stripes = (np.floor(xx * rs.randint(4, 16)) % 2).astype(bool)
            img = np.where(inside[..., None], c1, np.where(stripes[..., None], c0, c0 * 0.5))
        else:  # smooth noise: upsampled coarse noise plus fine noise
            coarse = rs.uniform(0, 255, size=(8, 8, 3)).astype(np.float64)
            img = np.kron(coarse, np.ones((side // 8, side // 8, 1), dtype=np.float64))
            img = img * 0.8 + rs.uniform(0, 51, size=(side, side, 3))
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def crop_image(pil_img, size):
    """Resize the shorter side to round(256 * size / 224), center-crop size x size."""
    from PIL import Image

    short = int(round(256.0 * size / 224.0))
    w, h = pil_img.size
    if w <= h:
        nw, nh = short, max(short, int(round(h * short / float(w))))
    else:
        nw, nh = max(short, int(round(w * short / float(h)))), short
    resample = getattr(Image, "BILINEAR", 2)
    img = pil_img.resize((nw, nh), resample)
    left = (nw - size) // 2
    top = (nh - size) // 2
    return img.crop((left, top, left + size, top + size))


def builtin_images(size):
    """The built-in set, cropped to size: (16, size, size, 3) uint8."""
    from PIL import Image

    raw = builtin_raw()
    return np.stack([np.asarray(crop_image(Image.fromarray(r), size), dtype=np.uint8) for r in raw])


def _to_rgb(img):
    """RGB from any Pillow mode: L, LA, P (with or without transparency), RGBA, CMYK, I;16, F..."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        from PIL import Image

        return Image.fromarray(arr.astype(np.uint8), "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    return img.convert("RGB")


def list_files(folder):
    """Image candidates of a folder (image_files.py: the same rule as the start-up check)."""
    if not os.path.isdir(folder):
        raise NoImages("image folder %s does not exist or is not a folder" % folder)
    return image_files.list_files(folder)


def load_one(path, size):
    """The cropped uint8 array of one image file; raises on anything unreadable."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()  # decodes the whole file: truncated files fail here
        rgb = _to_rgb(img)
        return np.asarray(crop_image(rgb, size), dtype=np.uint8)


def folder_images(folder, size, limit=MAX_IMAGES):
    """(images (N, size, size, 3) uint8, skipped count). Raises NoImages if none is usable."""
    used = []
    skipped = 0
    files = list_files(folder)
    for path in files:
        if len(used) >= limit:
            break
        try:
            if os.path.getsize(path) == 0:
                raise ValueError("empty file")
            used.append(load_one(path, size))
        except Exception:  # noqa: BLE001 - any undecodable file is skipped and counted
            skipped += 1
    if not used:
        raise NoImages(
            "no usable image in %s (%d files, %d unreadable): give a folder of JPEG/PNG images "
            "(flat, or one sub-folder per class)" % (folder, len(files), skipped)
        )
    return np.stack(used), skipped


def load_images(folder, size):
    """(uint8 NHWC images, skipped) from a folder, or from the built-in set when folder is None."""
    if folder is None:
        return builtin_images(size), 0
    return folder_images(folder, size)


def batches_of(images, batch, count=4):
    """Up to ``count`` distinct batches (uint8 NHWC) cycling through the images."""
    n = len(images)
    distinct = max(1, min(count, -(-n // batch)))  # ceil(n / batch), at most count
    out = []
    for k in range(distinct):
        idx = [(k * batch + i) % n for i in range(batch)]
        out.append(images[idx])
    return out


def normalise(batch_u8, mode):
    """Float32 batch for a framework's expectation.

    mode: "imagenet_nchw" (torch, mxnet: /255, ImageNet mean/std, NCHW),
    "torch_nhwc" (same values, NHWC: Keras' "torch" mode), "tf" (x/127.5 - 1, NHWC: Keras
    MobileNet, MobileNetV2, InceptionV3), "caffe" (RGB->BGR minus the ImageNet BGR mean,
    NHWC: Keras ResNet50, VGG16)."""
    x = batch_u8.astype(np.float32)
    if mode == "imagenet_nchw":
        x = (x / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)
    if mode == "torch_nhwc":
        return np.ascontiguousarray((x / 255.0 - IMAGENET_MEAN) / IMAGENET_STD, dtype=np.float32)
    if mode == "tf":
        return np.ascontiguousarray(x / 127.5 - 1.0, dtype=np.float32)
    if mode == "caffe":
        return np.ascontiguousarray(x[..., ::-1] - CAFFE_MEAN_BGR, dtype=np.float32)
    raise ValueError("unknown normalisation %r" % (mode,))


def quantise(x, dtype, scale, zero_point):
    """Quantise float x to an integer dtype (q = round(x / scale) + zero_point, clipped)."""
    info = np.iinfo(dtype)
    q = np.round(x / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)
