#!/usr/bin/env python3
"""Writes CIFAR-100, SVHN and CINIC-10 in their exact official layouts and sizes, filled with CIFAR-10's images,
for end-to-end runs of `airbench --dataset` where the real data sets cannot be downloaded.

    /path/to/venv/bin/python scripts/make_dataset_copies.py CIFAR10_BIN_FOLDER OUT

CIFAR10_BIN_FOLDER holds data_batch_1..5.bin and test_batch.bin. OUT receives:

  cifar-100-binary/train.bin, test.bin   50,000 / 10,000 records of coarse label, fine label, R, G, B planes
                                         (fine = 10 x the CIFAR-10 class, coarse = 2 x the class)
  svhn/train_32x32.mat, test_32x32.mat   73,257 / 26,032 images (CIFAR-10's, cycled), MATLAB level 5 via
                                         scipy.io.savemat: X uint8 32 x 32 x 3 x N, y N x 1 with 10 for class 0
  CINIC-10/{train,valid,test}/<class>/   9,000 PNG files per class and split (Pillow), CIFAR-10's images of that
                                         class cycled (train and valid from the training split, test from the test)

The labels are CIFAR-10's mapped into each data set's label space, so a network can learn them and its accuracy
means something; what these copies test is the reading (layout, sizes, label conventions, pixel order), the class
count of the head and the export, not the data sets' difficulty. Needs numpy, scipy and Pillow. Never needed to build
or test the Swift package.
"""
import os
import sys

import numpy as np
import scipy.io
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read(folder, names):
    records = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0]


def cycled(images, labels, count):
    index = np.arange(count) % len(labels)
    return images[index], labels[index]


def write_cifar100(out, train, test):
    folder = os.path.join(out, "cifar-100-binary")
    os.makedirs(folder, exist_ok=True)
    for name, (images, labels) in (("train.bin", train), ("test.bin", test)):
        records = np.concatenate([(2 * labels)[:, None], (10 * labels)[:, None], images.reshape(len(labels), -1)], axis=1)
        records.astype(np.uint8).tofile(os.path.join(folder, name))


def write_svhn(out, train, test):
    folder = os.path.join(out, "svhn")
    os.makedirs(folder, exist_ok=True)
    for name, split, count in (("train_32x32.mat", train, 73_257), ("test_32x32.mat", test, 26_032)):
        images, labels = cycled(*split, count)
        x = np.ascontiguousarray(images.transpose(2, 3, 1, 0))  # N x 3 x 32 x 32 -> 32 x 32 x 3 x N
        y = np.where(labels == 0, 10, labels).astype(np.uint8).reshape(-1, 1)
        scipy.io.savemat(os.path.join(folder, name), {"X": x, "y": y}, format="5")


def write_cinic10(out, train, test):
    for split, (images, labels) in (("train", train), ("valid", train), ("test", test)):
        offset = 4_500 if split == "valid" else 0  # valid starts half-way through each class's images
        for label, name in enumerate(CLASSES):
            folder = os.path.join(out, "CINIC-10", split, name)
            os.makedirs(folder, exist_ok=True)
            of_class = images[labels == label]
            for k in range(9_000):
                pixels = of_class[(offset + k) % len(of_class)].transpose(1, 2, 0)
                Image.fromarray(pixels, "RGB").save(os.path.join(folder, f"{split}-{name}-{k:04d}.png"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    train = read(source, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test = read(source, ["test_batch.bin"])
    write_cifar100(out, train, test)
    print("wrote", os.path.join(out, "cifar-100-binary"))
    write_svhn(out, train, test)
    print("wrote", os.path.join(out, "svhn"))
    write_cinic10(out, train, test)
    print("wrote", os.path.join(out, "CINIC-10"))


if __name__ == "__main__":
    main()
