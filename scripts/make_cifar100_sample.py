#!/usr/bin/env python3
"""Writes a small CIFAR-100 sample in the binary version's layout, and what a reader must make of it.

    python3 scripts/make_cifar100_sample.py Tests/AirbenchDataTests/Fixtures/cifar100-sample

Plain Python (struct/bytes only). Into OUT_DIR it writes:
  train.bin, test.bin                 7 and 3 records: coarse label byte, fine label byte, then the
                                      R, G and B planes (32 x 32 each, row-major)
  train.expected, test.expected       for the same records: all fine labels, then all coarse labels,
                                      then the images interleaved as NHWC (row, column, R G B)
The labels include the extremes (fine 0 and 99, coarse 0 and 19); the pixels come from a fixed
linear congruential generator, so the output is the same on every run.
"""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lcg import lcg_bytes  # noqa: E402


SIDE = 32
PLANE = SIDE * SIDE



def split(name, labels, seed, folder):
    records = bytearray()
    fine_all, coarse_all, nhwc = bytearray(), bytearray(), bytearray()
    for index, (coarse, fine) in enumerate(labels):
        planes = lcg_bytes(seed + index, 3 * PLANE)  # R plane, G plane, B plane
        records += bytes([coarse, fine]) + planes
        coarse_all.append(coarse)
        fine_all.append(fine)
        for y in range(SIDE):
            for x in range(SIDE):
                for channel in range(3):
                    nhwc.append(planes[channel * PLANE + y * SIDE + x])
    with open(os.path.join(folder, name + ".bin"), "wb") as f:
        f.write(records)
    with open(os.path.join(folder, name + ".expected"), "wb") as f:
        f.write(bytes(fine_all) + bytes(coarse_all) + bytes(nhwc))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    # (coarse, fine) pairs
    split("train", [(4, 0), (19, 99), (0, 58), (11, 37), (7, 23), (19, 98), (2, 1)], 1000, folder)
    split("test", [(0, 99), (13, 42), (19, 0)], 2000, folder)


if __name__ == "__main__":
    main()
