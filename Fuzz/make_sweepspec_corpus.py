#!/usr/bin/env python3
"""Writes the seed corpus of the sweepspec fuzz harness: the studies' YAML specs as they are, and hand-written
specs for what the reader must refuse with a one-line error (YAML typos, the four shapes that aborted the old
TOML parser, YAML 1.1 values, duplicate and non-string keys, aliases, deep nesting, sizes past the bounds, an old
TOML spec fed as YAML).

    python3 Fuzz/make_sweepspec_corpus.py Fuzz/corpus/sweepspec

Standard library only. The corpus is committed; this script says where it came from, and rewrites it whole.
"""
import os
import shutil
import sys

STUDIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "studies")

HAND_WRITTEN = {
    # Every key, a data set as a mapping, nested settings, every scalar and collection style.
    "every-key.yaml": """\
name: every-key   # a comment
description: |
  A block string: [, {, # and : are text here.
method: airbench94
dataset: {name: cifar100, labels: coarse, svhn_extra: false, cinic_valid: false}
seeds: [3, 2]
train_limit: 100
shards: 2
set:
  trainEpochs: 1.5
  widths:
    block1: 8
    block2: 16
    block3: 16
  whitenBiasEpochs: 2
  proxy: {keep: 256, stepInterval: 2}
  learningRate: 1e-3
grid:
  flip: [random, 'alternating']
  cutout:
    - 0
    - 12
configuration:
  - name: "plain,x=1"
  - name: muon
    method: airbench94_muon
    seeds: 1
    set: {lookahead: False}
  - name: >-
      a folded
      name
""",
    # The four shapes that aborted toml++, as YAML typos.
    "toml-shapes.yaml": "name: x\nseeds: 2\n[,2,3]\nset:\n  cutout: [}\n  flip: [[\u0085\n  trainEpochs: 3172-02-0= 4 48\n",
    "toml-header.yaml": "name: x\nseeds: 2\n[set]\ntrainEpochs: 2\n",
    # An old TOML spec handed to the YAML reader.
    "old-toml.yaml": """\
name = "flip-reduced"
seeds = 8
[set]
batchSize = 500
widths = { block1 = 32, block2 = 64, block3 = 64 }
[grid]
flip = ["none", "random", "alternating"]
""",
    # YAML 1.1 values that the core schema keeps as strings or refuses, numbers of every form.
    "pitfalls.yaml": """\
name: no
description: yes
seeds: 012
set: {lookahead: off, cutout: 0x0c, momentum: .inf, weightDecay: ~, batchSize: 1_000, trainEpochs: !!float 4}
grid:
  flip: [on, Off, TRUE]
  learningRate: [1e-3, -.5, 5., .nan, 99999999999999999999]
1: one
true: yes
? [a, b]
: complex key
""",
    "duplicate-keys.yaml": "name: a\nseeds: 2\nset:\n  cutout: 1\n  'cutout': 2\nseeds: 3\n",
    "aliases.yaml": "name: &n a\nseeds: 2\nl0: &l0 [x, x, x]\nl1: &l1 [*l0, *l0, *l0]\nk:\n  ? *l1\n  : 1\n",
    "deep.yaml": "name: a\nseeds: 2\nset:\n  cutout: " + "[" * 40 + "1" + "]" * 40 + "\n",
    "sizes.yaml": """\
name: sizes
seeds: [0, 600000]
grid:
  cutout: [0, 1, 2, 3]
configuration:
  - name: a/b
  - name: a_b
    seeds: 9223372036854775807
""",
    # Hyperparameter values: every numeric key at the edge of its range (mutations push them over), the values
    # that once reached a trap, and a grid of many keys, so the fuzzer reaches Hyperparameters.validate.
    "values-edges.yaml": """\
name: edges
seeds: 1
set: {trainEpochs: 1000, batchSize: 2, learningRate: 0, momentum: 0.999, weightDecay: 0, biasScaler: 0,
      whitenBiasScaler: 0, labelSmoothing: 1, muonLearningRate: 0, muonMomentum: 0, scheduleStart: 0,
      schedulePeak: 1, scheduleEnd: 0, lookaheadInterval: 100000, whitenBiasEpochs: 1000, whiteningImages: 1,
      whiteningEpsilon: 1e-300, widths: {block1: 1, block2: 8192, block3: 1}, convsPerGroup: 3, residual: true,
      activationAfterAdd: true, batchNormMomentum: 1, batchNormEpsilon: 1, scalingFactor: 1e-300, translate: 31,
      cutout: 32, ttaLevel: 2, proxy: {keep: 2, stepInterval: 100000, widths: {block1: 8192, block2: 1, block3: 1}}}
""",
    "values-hostile.yaml": """\
name: hostile
seeds: 2
set: {trainEpochs: 1e300, cutout: -4, translate: 100000, whiteningImages: -5, batchSize: 0}
grid:
  lookaheadInterval: [0, -1, 9223372036854775807]
  momentum: [1, -0.0, 1e308]
""",
    "values-grid.yaml": """\
name: grid
seeds: [7, 3]
grid:
  trainEpochs: [0.5, 9.9, 45]
  batchSize: [2, 1024, 65536]
  widths: [{block1: 8}, {block2: 16, block3: 32}]
  flip: [none, random, alternating]
  order: [reshuffle, replacement, fixed, sequential]
  whitenBiasEpochs: [0, 3]
  filterOptimizer: [sgd, muon]
""",
    "shape.yaml": "- name: a\n- seeds: 2\n---\nname: b\n",
    "broken.yaml": 'name: "x\nseeds: [1, 2\n',
    "control.yaml": "\ufeffname: a\r\nseeds: 2\r\n\tset: {cutout: \u0001}\r\n\"a\\nb\": 1\n",
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name in sorted(os.listdir(STUDIES)):
        if name.endswith(".yaml"):
            shutil.copy(os.path.join(STUDIES, name), os.path.join(folder, name))
    for name, text in HAND_WRITTEN.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)


if __name__ == "__main__":
    main()
