#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses: small valid files of each format, written by the
reference tools (tarfile, gzip, scipy.io.savemat, Pillow, safetensors), and a few invalid ones.

    /path/to/venv/bin/python Fuzz/make_corpus.py Fuzz/corpus

The sweepspec corpus is written by make_sweepspec_corpus.py beside this script (copies of studies/*.yaml and
hand-written specs; standard library only).

Needs numpy, scipy, Pillow and safetensors. The corpus is committed; this script only documents where
it came from (outputs with a time stamp in them are fixed so that reruns give the same bytes).
"""
import gzip
import io
import os
import sys
import tarfile
import time

import numpy as np
import scipy.io
from PIL import Image
from safetensors.numpy import save as save_safetensors
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from lcg import lcg_bytes  # noqa: E402


time.asctime = lambda *args: "Thu Jan  1 00:00:00 2026"  # the date scipy writes into .mat headers



def put(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def tar_bytes(fmt, entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode()
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    data = buffer.getvalue().rstrip(b"\0")
    # Keep the data's padding to 512 bytes and the two zero blocks that end an archive, not the
    # 10 KiB record padding.
    return data + b"\0" * ((512 - len(data) % 512) % 512 + 1024)


def tars():
    long_name = "cifar-10-batches-bin/" + "a-very-long-folder-name/" * 5 + "data_batch_1.bin"
    return {
        "ustar": tar_bytes(tarfile.USTAR_FORMAT, [("cifar-10-batches-bin", "dir", b""), ("cifar-10-batches-bin/readme.txt", "file", b"hello\n" * 20)]),
        "gnu-longname": tar_bytes(tarfile.GNU_FORMAT, [(long_name, "file", b"x" * 700)]),
        "pax": tar_bytes(tarfile.PAX_FORMAT, [(long_name, "file", b"y" * 10), ("link", "link", b"target")]),
        "empty-file": tar_bytes(tarfile.USTAR_FORMAT, [("empty", "file", b"")]),
    }


def mat(variables, compress):
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=compress, oned_as="column")
    return buffer.getvalue()


def png(array, mode, **options):
    buffer = io.BytesIO()
    Image.frombytes(mode, (array.shape[1], array.shape[0]), array.tobytes()).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]

    for name, data in tars().items():
        # The harness takes the first byte as the size of the pieces it feeds the reader, less one.
        put(os.path.join(root, "tar"), name, bytes([255]) + data)
        put(os.path.join(root, "tar"), name + "-pieces-of-7", bytes([6]) + data)
        put(os.path.join(root, "gzip"), name + ".tar.gz", gzip.compress(data, mtime=0))
    put(os.path.join(root, "gzip"), "two-members.gz", gzip.compress(b"first", mtime=0) + gzip.compress(b"second", mtime=0))
    put(os.path.join(root, "gzip"), "stored.gz", gzip.compress(lcg_bytes(1, 300), compresslevel=0, mtime=0))
    put(os.path.join(root, "gzip"), "not-gzip", b"PK\x03\x04 not gzip")

    record = lcg_bytes(2, 3072)
    put(os.path.join(root, "cifar10"), "one-record", bytes([3]) + record)
    put(os.path.join(root, "cifar10"), "two-records", bytes([0]) + record + bytes([9]) + record)
    put(os.path.join(root, "cifar10"), "bad-label", bytes([10]) + record)
    put(os.path.join(root, "cifar10"), "cut", bytes([1]) + record[:100])
    put(os.path.join(root, "cifar100"), "one-record", bytes([19, 99]) + record)
    put(os.path.join(root, "cifar100"), "bad-fine-label", bytes([0, 100]) + record)
    put(os.path.join(root, "cifar100"), "cut", bytes([1, 2]) + record[:50])

    x = np.frombuffer(lcg_bytes(3, 3072), dtype=np.uint8).reshape(32, 32, 3, 1)
    y = np.array([[10]], dtype=np.uint8)
    put(os.path.join(root, "mat"), "svhn-one.mat", mat({"X": x, "y": y}, False))
    put(os.path.join(root, "mat"), "svhn-one-compressed.mat", mat({"X": x, "y": y.astype(np.float64)}, True))
    put(os.path.join(root, "mat"), "svhn-zeros-compressed.mat", mat({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[1], [2]], np.uint8)}, True))
    put(os.path.join(root, "mat"), "other-variables.mat", mat({"note": "text", "cells": np.array([1.5, 2.5]), "z": np.array([[1 + 2j]]), "X": x, "y": y}, False))
    put(os.path.join(root, "mat"), "empty-x.mat", mat({"X": np.zeros((32, 32, 3, 0), np.uint8), "y": np.zeros((0, 1), np.uint8)}, False))

    pixels = np.frombuffer(lcg_bytes(4, 32 * 32 * 3), dtype=np.uint8).reshape(32, 32, 3) // 4 + np.arange(32, dtype=np.uint8).reshape(1, 32, 1) * 4
    put(os.path.join(root, "png"), "rgb-32.png", png(pixels.astype(np.uint8), "RGB", optimize=True))
    put(os.path.join(root, "png"), "rgb-3x2.png", png(pixels[:2, :3].copy(), "RGB"))
    put(os.path.join(root, "png"), "grey-5x4.png", png(pixels[:4, :5, 0].copy(), "L"))
    indices = (pixels[:4, :4, 1] % 20).astype(np.uint8)
    palette = Image.frombytes("P", (4, 4), indices.tobytes())
    palette.putpalette(list(lcg_bytes(5, 60)), rawmode="RGB")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    put(os.path.join(root, "png"), "palette-4x4.png", buffer.getvalue())
    put(os.path.join(root, "png"), "rgba-2x2.png", png(pixels[:2, :2, :].repeat(2, axis=2)[:, :, :4].copy(), "RGBA"))

    tensors = {
        "weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "bias": np.array([0.5, -1.0], dtype=np.float16),
        "steps": np.array([7], dtype=np.int64),
        "ids": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "scale": np.array(2.0, dtype=np.float64),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    put(os.path.join(root, "safetensors"), "mixed.safetensors", save_safetensors(tensors, metadata={"format": "np"}))
    put(os.path.join(root, "safetensors"), "one.safetensors", save_safetensors({"a": np.ones(2, dtype=np.float32)}))
    put(os.path.join(root, "safetensors"), "header-only", b"\x02\x00\x00\x00\x00\x00\x00\x00{}")


if __name__ == "__main__":
    main()
