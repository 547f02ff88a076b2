#!/usr/bin/env python3
"""Writes a small SVHN sample in the official cropped-digits layout with scipy.io.savemat, and what a
reader must make of it.

    /path/to/venv/bin/python scripts/make_svhn_sample.py Tests/AirbenchDataTests/Fixtures/svhn-sample

Needs numpy and scipy. Into OUT_DIR it writes MATLAB level-5 files holding X (uint8, 32 x 32 x 3 x N:
row, column, channel, image) and y (N x 1, digits 1-10, 10 for the digit 0), as the official files do:
  train_32x32.mat    5 images, y uint8, uncompressed (MATLAB v5/v6 style)
  test_32x32.mat     3 images, y double, compressed (do_compression=True: MATLAB v7 style miCOMPRESSED)
  extra_32x32.mat    2 images, y double, uncompressed, with an unrelated variable 'note' before X
  *.expected         for each: the labels as the reader must give them (digit, 10 -> 0), then the
                     images as NHWC bytes (image, row, column, R G B), computed here with numpy
and in OUT_DIR/bad/ files that a reader must reject, one problem each (see BAD below).
The pixels come from a fixed linear congruential generator and the header's creation date is fixed,
so the output is the same on every run (with the same zlib).
"""
import os
import sys
import time

import numpy as np
import scipy.io
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lcg import lcg_bytes  # noqa: E402


SIDE = 32

# scipy writes time.asctime() into the 116-byte header text; fix it so the files are reproducible.
time.asctime = lambda *args: "Thu Jan  1 00:00:00 2026"



def images(seed, count):
    """uint8 array of shape (32, 32, 3, count): X(row, column, channel, image) as in the SVHN files."""
    nhwc = np.frombuffer(lcg_bytes(seed, count * SIDE * SIDE * 3), dtype=np.uint8).reshape(count, SIDE, SIDE, 3)
    return np.ascontiguousarray(nhwc.transpose(1, 2, 3, 0))


def write(folder, name, variables, compress=False):
    scipy.io.savemat(os.path.join(folder, name), variables, do_compression=compress, oned_as="column")


def expected(folder, name, x, y):
    labels = bytes(int(v) % 10 for v in np.asarray(y).reshape(-1))
    nhwc = np.ascontiguousarray(x.transpose(3, 0, 1, 2)).tobytes()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(labels + nhwc)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    os.makedirs(os.path.join(folder, "bad"), exist_ok=True)

    x = images(3000, 5)
    y = np.array([[10], [1], [9], [5], [10]], dtype=np.uint8)
    write(folder, "train_32x32.mat", {"X": x, "y": y})
    expected(folder, "train.expected", x, y)

    x = images(4000, 3)
    y = np.array([[3], [10], [7]], dtype=np.float64)
    write(folder, "test_32x32.mat", {"X": x, "y": y}, compress=True)
    expected(folder, "test.expected", x, y)

    x = images(5000, 2)
    y = np.array([[2], [8]], dtype=np.float64)
    write(folder, "extra_32x32.mat", {"note": "not part of SVHN", "X": x, "y": y})
    expected(folder, "extra.expected", x, y)

    one = images(6000, 1)
    # BAD: name -> variables; the Swift tests say what each must be rejected for.
    bad = {
        "x-double.mat": {"X": one.astype(np.float64), "y": np.array([[1]], dtype=np.uint8)},
        "x-shape.mat": {"X": one[:, :, :2, :], "y": np.array([[1]], dtype=np.uint8)},
        "y-eleven.mat": {"X": images(6000, 2), "y": np.array([[1], [11]], dtype=np.uint8)},
        "y-zero.mat": {"X": one, "y": np.array([[0]], dtype=np.double)},
        "y-fraction.mat": {"X": images(6000, 3), "y": np.array([[1], [2], [2.5]], dtype=np.double)},
        "y-int16.mat": {"X": one, "y": np.array([[1]], dtype=np.int16)},
        "missing-y.mat": {"X": one},
        "count-mismatch.mat": {"X": images(6000, 2), "y": np.array([[1], [2], [3]], dtype=np.uint8)},
    }
    for name, variables in bad.items():
        write(os.path.join(folder, "bad"), name, variables)


if __name__ == "__main__":
    main()
