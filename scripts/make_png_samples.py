#!/usr/bin/env python3
"""Writes the PNG and CINIC-10 test samples, and what a reader must make of them.

    /path/to/venv/bin/python scripts/make_png_samples.py Tests/AirbenchDataTests/Fixtures

Needs numpy and Pillow. Writes into FIXTURES:

  png-sample/
    rgb.png, grey.png, palette.png   written by Pillow (8-bit RGB, greyscale "L", palette "P")
    filter-0.png ... filter-4.png    8-bit RGB written here with zlib, every row with one filter type
                                     (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth), so each type is tested
    NAME.rgb                         for each of those: the pixels as 8-bit RGB, row by row
    bad/                             files a strict reader must reject: rgba.png, grey16.png,
                                     grey-alpha.png (Pillow), interlaced.png (Adam7, written here),
                                     grey1.png (1-bit), palette4.png (4-bit palette, Pillow)
  cinic10-sample/                    the CINIC-10 layout: train/, valid/, test/, each with the ten class
                                     folders (airplane ... truck) of 32 x 32 RGB PNGs written by Pillow
                                     (train 2, valid 1, test 1 per class), named like the real files
    SPLIT.expected                   per split: the labels (class index, class by class, files in name
                                     order), then the images as NHWC bytes

Every PNG is read back with Pillow and compared with the pixels it was made from, and the script checks
that the Pillow-written files of cinic10-sample and png-sample use all five filter types between them.
Pixels come from a fixed linear congruential generator; the output is the same on every run.
"""
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lcg import lcg_bytes  # noqa: E402


CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]



def picture(seed, height, width, channels=3):
    """A smooth colour field plus a little noise, like a photograph: rows differ, so filters vary."""
    noise = np.frombuffer(lcg_bytes(seed, height * width * channels), dtype=np.uint8).reshape(height, width, channels)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 7 + y * 3 + seed * 11 + 40 * c) % 256 for c in range(channels)], axis=-1)
    return ((base + noise.astype(np.int64) // 8) % 256).astype(np.uint8)


def image(array, mode):
    """A Pillow image of mode from a (height, width[, channels]) array of that mode's samples."""
    return Image.frombytes(mode, (array.shape[1], array.shape[0]), array.tobytes())


def check_pillow_reads(path, rgb):
    with Image.open(path) as image:
        back = np.asarray(image.convert("RGB"))
    assert back.shape == rgb.shape and (back == rgb).all(), path


def filter_types(path):
    """The filter type byte of every row of an 8-bit, non-interlaced PNG."""
    data = open(path, "rb").read()
    offset, idat, width, height, channels = 8, b"", 0, 0, 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    return {raw[row * stride] for row in range(height)}


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filtered_rows(rgb, filter_type):
    """The IDAT payload (before zlib) with every row filtered with filter_type (RGB, 3 bytes per pixel)."""
    height, width, _ = rgb.shape
    rows = [bytes(rgb[y].reshape(-1)) for y in range(height)]
    out = bytearray()
    for y, row in enumerate(rows):
        previous = rows[y - 1] if y > 0 else bytes(len(row))
        out.append(filter_type)
        for i, x in enumerate(row):
            a = row[i - 3] if i >= 3 else 0
            b = previous[i]
            c = previous[i - 3] if i >= 3 else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][filter_type]
            out.append((x - predictor) % 256)
    return bytes(out)


def write_png(path, width, height, depth, colour, payload, interlace=0):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(payload, 9)) + chunk(b"IEND", b""))


def png_sample(folder):
    os.makedirs(os.path.join(folder, "bad"), exist_ok=True)
    rgb = picture(7, 11, 13)
    image(rgb, "RGB").save(os.path.join(folder, "rgb.png"))
    grey = picture(8, 6, 9, 1)[:, :, 0]
    image(grey, "L").save(os.path.join(folder, "grey.png"))
    # 20 entries, so that Pillow writes 8-bit indices (with 16 colours or fewer it packs 4 bits or fewer).
    indices = (picture(9, 5, 7, 1)[:, :, 0] % 20).astype(np.uint8)
    colours = list(lcg_bytes(99, 3 * 20))
    palette_image = image(indices, "P")
    palette_image.putpalette(colours, rawmode="RGB")
    palette_image.save(os.path.join(folder, "palette.png"))
    expected = {
        "rgb": rgb,
        "grey": np.repeat(grey[:, :, None], 3, axis=2),
        "palette": np.array(colours, dtype=np.uint8).reshape(-1, 3)[indices],
    }
    for name, pixels in expected.items():
        check_pillow_reads(os.path.join(folder, name + ".png"), pixels)

    filters = picture(10, 5, 9)
    for filter_type in range(5):
        name = "filter-%d" % filter_type
        write_png(os.path.join(folder, name + ".png"), 9, 5, 8, 2, filtered_rows(filters, filter_type))
        assert filter_types(os.path.join(folder, name + ".png")) == {filter_type}
        check_pillow_reads(os.path.join(folder, name + ".png"), filters)
        expected[name] = filters
    for name, pixels in expected.items():
        with open(os.path.join(folder, name + ".rgb"), "wb") as f:
            f.write(pixels.tobytes())

    bad = os.path.join(folder, "bad")
    image(picture(11, 4, 4, 4), "RGBA").save(os.path.join(bad, "rgba.png"))
    image(picture(12, 4, 4, 2), "LA").save(os.path.join(bad, "grey-alpha.png"))
    image((picture(13, 4, 4, 1)[:, :, 0].astype("<u2") * 257), "I;16").save(os.path.join(bad, "grey16.png"))
    image(picture(14, 4, 4, 1)[:, :, 0], "L").convert("1").save(os.path.join(bad, "grey1.png"))
    small_palette = image((picture(15, 4, 4, 1)[:, :, 0] % 5).astype(np.uint8), "P")
    small_palette.putpalette([10, 20, 30, 255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50], rawmode="RGB")
    small_palette.save(os.path.join(bad, "palette4.png"))
    # Adam7 for a 1 x 1 image is one pass with one row: filter byte and one pixel.
    write_png(os.path.join(bad, "interlaced.png"), 1, 1, 8, 2, b"\x00\x01\x02\x03", interlace=1)
    return {f for name in ("rgb", "grey") for f in filter_types(os.path.join(folder, name + ".png"))}


def cinic_picture(seed, style):
    """A 32 x 32 RGB picture and whether to save it with Pillow's optimize option, in three styles that
    make Pillow's adaptive filtering choose different filters: a colour field (Sub, Up, Paeth), the
    same with black rows on top as in letterboxed photos (None), and a flat field with noise saved with
    optimize=True, the only setting in which Pillow tries Average."""
    if style == 0:
        return picture(seed, 32, 32), False
    if style == 1:
        pixels = picture(seed, 32, 32)
        pixels[:5] = 0
        return pixels, False
    noise = np.frombuffer(lcg_bytes(seed, 32 * 32 * 3), dtype=np.uint8).reshape(32, 32, 3).astype(np.int64)
    return (60 + seed % 100 + noise * 32 // 256).astype(np.uint8), True


def cinic_sample(folder):
    used_filters = set()
    counts = {"train": 2, "valid": 1, "test": 1}
    for split_index, (split, per_class) in enumerate(counts.items()):
        labels, images = bytearray(), bytearray()
        for label, name in enumerate(CLASSES):
            class_folder = os.path.join(folder, split, name)
            os.makedirs(class_folder, exist_ok=True)
            entries = []
            for k in range(per_class):
                # Real file names: cifar10-<split>-<index>.png and <wordnet id>_<index>.png.
                seed = 100 * split_index + 10 * label + k
                file_name = "cifar10-%s-%d.png" % (split, 1000 + seed) if k % 2 == 0 else "n0%07d_%d.png" % (2691156 + label, seed)
                pixels, optimize = cinic_picture(seed, (label + k) % 3)
                path = os.path.join(class_folder, file_name)
                image(pixels, "RGB").save(path, optimize=optimize)
                check_pillow_reads(path, pixels)
                used_filters |= filter_types(path)
                entries.append((file_name.encode(), pixels))
            for _, pixels in sorted(entries, key=lambda entry: entry[0]):
                labels.append(label)
                images += pixels.tobytes()
        with open(os.path.join(folder, split + ".expected"), "wb") as f:
            f.write(bytes(labels) + bytes(images))
    return used_filters


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fixtures = sys.argv[1]
    used = png_sample(os.path.join(fixtures, "png-sample"))
    used |= cinic_sample(os.path.join(fixtures, "cinic10-sample"))
    print("filter types in the Pillow-written files:", sorted(used))
    assert used == {0, 1, 2, 3, 4}, "Pillow did not use every filter type; change the pictures"


if __name__ == "__main__":
    main()
