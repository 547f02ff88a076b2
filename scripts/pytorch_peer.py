#!/usr/bin/env python3
"""The PyTorch-on-CPU peer, for side-by-side timing and accuracy on the same machine as `airbench`.

It runs any method of the airbench family (spec/airbench-family.md) changed only to run on the CPU: no .cuda(), float32
or bfloat16 autocast instead of half precision, channels_last kept, the training data read from the CIFAR-10 binary
files (no torchvision), no torch.compile. Methods:

  airbench93         pip package train93: widths 64/128/128, 11 epochs, otherwise airbench94
  airbench94         the paper's Listing 4 (the default)
  airbench95         widths 128/384/384, 15 epochs, lr 10 (spec A.1)
  airbench96         the paper's version (spec A.2): 3-conv residual groups, GELU before the add, 128/512/512,
                     40 epochs, lr 9, translate 4, Cutout 12
  airbench96_2024    the June-2024 version (spec A.3): GELU after the add, 128/384/512, 37 epochs, wd 0.012,
                     PyTorch BN momentum 0.1, warm-up 10% then linear to 0
  airbench94_muon    spec B: CifarNet, Muon on the block filters, batch 2000, 8 epochs, linear decay, no Lookahead
  airbench94_hiverge spec airbench-hiverge.md as our Swift preset runs it: CifarNet with SiLU groups, batch 1536,
                     7.59 epochs, hiverge's Muon (adaptive renormalisation, decoupled decay) and SGD, whitening from the
                     first 960 images, brightness/contrast jitter, selective TTA on the least confident quarter
  airbench96_faster  spec C: the June-2024 net trained on the 512 highest-loss examples of each 1024-batch of an endless
                     stream, as chosen by a 32/64/64 proxy trained first (every 4th step); the main net's whitening bias
                     is never frozen (the script's as-written behaviour)

The networks, Muon and the schedules come from make_family_fixtures.py, whitening, Lookahead and TTA from
make_fixtures.py, hiverge's network, Muon, SGD groups, jitter and selective TTA from make_hiverge_fixtures.py (our own
re-implementations). Timing follows the paper: a warm-up first (one epoch of 2048 images with random labels), then from
the first access to training data to the test predictions, per-epoch evaluation excluded.

airbench94_hiverge follows our Swift engine (Methods.swift's preset, RunPlan, Muon.swift, CifarLoader, Evaluation.swift)
at any scale, so that `--method airbench94_hiverge --train-images N --batch-size B --widths a,b,c [--epochs E]` is the
peer of `airbench train airbench94_hiverge --train-limit N --batch-size B --widths a,b,c [--epochs E]` (E 7.59 by
default in both): steps per epoch S = N // B (drop_last), T = ceil(E * S) steps over ceil(T / S) loader epochs,
the last cut short; the whitening bias trains for ceil(0.19 * S) steps on its own linear decay 1 - s/that, then
is detached; the others and Muon decay as 1 - s/T; Muon renormalises at t - t_last >= 2 + floor(15 t / T) of that T;
whitening statistics from the first min(960, N) images; the decay is 1.0418e-6 per example times B, coupled in the
SGD groups (wd/lr per group) and decoupled in Muon (the spec's wd = 1.0418e-6 * batch, 0.0016002 at 1536); jitter (x + b) k per image and epoch in normalised space after the crop and the flips, no clamping. With
--precision bf16 Newton-Schulz rounds each product's operands to bf16 and sums in float32 (the Swift engine's bf16
kernels; --muon-ns fp32 for float32). E.g. N 10000, B 512: 19 steps per epoch, T = ceil(144.21) = 145 over 8 loader
epochs (the last 12 steps), whitening bias 4 steps, 21 renormalisations. Each run prints tta_val_acc (selective TTA:
int(0.25 * 10000) = 2500 least confident by the plain view's top softmax get the plain mean of their 6 views; timed with
the plain view, as the engine does), full_tta_val_acc (every image, the weighted level-2 views; untimed) and val_acc
(the plain view).

Usage:  /path/to/venv/bin/python scripts/pytorch_peer.py --data DIR [--method M] [--precision fp32|bf16] [--runs N]
        [--seed-offset K] [--epochs E] [--widths a,b,c] [--proxy-widths a,b,c] [--train-images N] [--batch-size B]
        [--threads T] [--steps S] [--no-warmup] [--muon-ns bf16|fp32] [--evaluate-model FILE]
DIR holds data_batch_1..5.bin and test_batch.bin (e.g. the cache folder `airbench` extracts into).
Reduced scale: --train-images N keeps the first N training images; the schedules' T, the whitening-bias epochs and the
Lookahead follow from the reduced steps per epoch (N // batch size) as the method computes them.
--steps S times only the first S training steps and prints the seconds per step (for quick ratios).
--evaluate-model FILE loads a model saved by `airbench` with --save-model (any method: read from the metadata key
`method`, else inferred from the tensor names; the class count from the head) with `load_state_dict(..., strict=False)`
and prints its test accuracy at TTA 0 and 2 on the test split of the data set the metadata `dataset` names (CIFAR-10,
CIFAR-100 fine or coarse, SVHN, CINIC-10; DIR is then that data set's folder, read here with numpy, SciPy and Pillow),
normalised with the metadata's `normalization`; SVHN's TTA leaves out the mirrored views, as `airbench` does. An
airbench94_hiverge model (metadata `method`, or SiLU in the metadata `spec`) also gets its selective TTA at the
metadata's `tta_select` (0.25 if absent).
Never needed to build or test the Swift package.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as listing4  # noqa: E402
import make_family_fixtures as family  # noqa: E402
import make_hiverge_fixtures as hiverge  # noqa: E402

MEAN = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
STD = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)

_SGD = dict(batch_size=1024, momentum=0.85, bias_scaler=64.0, label_smoothing=0.2, whiten_bias_epochs=3, tta_level=2)
METHODS = {
    "airbench93": dict(_SGD, widths=(64, 128, 128), epochs=11, lr=11.5, weight_decay=0.0153, bn_momentum=0.4,
                       convs=2, activation_after_add=False, translate=2, cutout=0, schedule="triangle"),
    "airbench94": dict(_SGD, widths=(64, 256, 256), epochs=9.9, lr=11.5, weight_decay=0.0153, bn_momentum=0.4,
                       convs=2, activation_after_add=False, translate=2, cutout=0, schedule="triangle"),
    "airbench95": dict(_SGD, widths=(128, 384, 384), epochs=15, lr=10.0, weight_decay=0.0153, bn_momentum=0.4,
                       convs=2, activation_after_add=False, translate=2, cutout=0, schedule="triangle"),
    "airbench96": dict(_SGD, widths=(128, 512, 512), epochs=40, lr=9.0, weight_decay=0.0153, bn_momentum=0.4,
                       convs=3, activation_after_add=False, translate=4, cutout=12, schedule="triangle"),
    "airbench96_2024": dict(_SGD, widths=(128, 384, 512), epochs=37, lr=9.0, weight_decay=0.012, bn_momentum=0.1,
                            convs=3, activation_after_add=True, translate=4, cutout=12, schedule="warmup_linear"),
    "airbench94_muon": dict(widths=(64, 256, 256), epochs=8, batch_size=2000, bn_momentum=0.4, convs=2,
                            activation_after_add=False, translate=2, cutout=0, label_smoothing=0.2, tta_level=2,
                            muon_lr=0.24, muon_momentum=0.6, bias_lr=0.053, head_lr=0.67, wd_per_example=2e-6,
                            momentum=0.85, whiten_bias_epochs=3),
    "airbench96_faster": dict(_SGD, widths=(128, 384, 512), proxy_widths=(32, 64, 64), epochs=45, lr=9.0,
                              weight_decay=0.012, bn_momentum=0.1, convs=3, activation_after_add=True, translate=4,
                              cutout=12, schedule="warmup_linear", proxy_every=4),
    # Our Swift preset Method.airbench94Hiverge (spec airbench-hiverge.md). --batch-size rescales the SGD groups' and
    # Muon's decay alike (1.0418e-6 per example).
    "airbench94_hiverge": dict(widths=(64, 256, 256), epochs=7.59, batch_size=1536, bn_momentum=0.4434, translate=2,
                               cutout=0, label_smoothing=0.09, tta_level=2, tta_select=0.25, whitening_images=960,
                               whiten_bias_epochs=0.19, muon_lr=0.205, muon_momentum=0.655, bias_lr=0.0573,
                               head_lr=0.5415, wd_per_example=1.0418e-6,
                               momentum=0.825, brightness=0.1399, contrast=0.1308),
}


# ----------------------------------------------------------------------------------------------
# Data.

def read_split(folder, names):
    records = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    return images, labels


def normalize(images, mean=MEAN, std=STD):
    return ((images.float() / 255) - mean) / std


def read_test_split(folder, dataset):
    """The test split of `dataset` (a selection as the model's metadata records it) as uint8 NCHW and labels."""
    name = dataset.get("name", "cifar10")
    if name == "cifar10":
        return read_split(folder, ["test_batch.bin"])
    if name == "cifar100":
        records = np.fromfile(os.path.join(folder, "test.bin"), dtype=np.uint8).reshape(-1, 3074)
        labels = records[:, 0 if dataset.get("labels") == "coarse" else 1].astype(np.int64)
        return torch.from_numpy(records[:, 2:].reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)
    if name == "svhn":
        import scipy.io
        mat = scipy.io.loadmat(os.path.join(folder, "test_32x32.mat"))
        images = np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1))  # 32 x 32 x 3 x N -> N x 3 x 32 x 32
        labels = mat["y"].reshape(-1).astype(np.int64) % 10  # 10 is the digit 0
        return torch.from_numpy(images), torch.from_numpy(labels)
    if name == "cinic10":
        from PIL import Image
        classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        images, labels = [], []
        for label, cls in enumerate(classes):
            folder_of_class = os.path.join(folder, "test", cls)
            for file in sorted(f for f in os.listdir(folder_of_class) if f.endswith(".png")):
                images.append(np.asarray(Image.open(os.path.join(folder_of_class, file)).convert("RGB")).transpose(2, 0, 1))
                labels.append(label)
        return torch.from_numpy(np.stack(images)), torch.tensor(labels)
    raise SystemExit(f"unknown data set {name!r}")


def random_flip(images, generator=None):
    flip = (torch.rand(len(images), generator=generator) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip, images.flip(-1), images)


def batch_crop(images, crop_size, generator=None):
    """Random translation: per image an integer shift (sy, sx), each uniform in [-r, r], of the padded images."""
    r = (images.size(-1) - crop_size) // 2
    shifts = torch.randint(-r, r + 1, size=(len(images), 2), generator=generator)
    rows = torch.empty((len(images), 3, crop_size, images.size(-1)), dtype=images.dtype)
    for s in range(-r, r + 1):
        mask = shifts[:, 0] == s
        rows[mask] = images[mask, :, r + s:r + s + crop_size, :]
    out = torch.empty((len(images), 3, crop_size, crop_size), dtype=images.dtype)
    for s in range(-r, r + 1):
        mask = shifts[:, 1] == s
        out[mask] = rows[mask, :, :, r + s:r + s + crop_size]
    return out


def batch_cutout(images, size, generator=None):
    """One size x size square per image, fully inside (top-left corner uniform in [0, 32 - size]), set to 0."""
    n, _, h, w = images.shape
    corner_y = torch.randint(0, h - size + 1, (n,), generator=generator)
    corner_x = torch.randint(0, w - size + 1, (n,), generator=generator)
    dy = torch.arange(h).view(1, 1, h, 1) - corner_y.view(-1, 1, 1, 1)
    dx = torch.arange(w).view(1, 1, 1, w) - corner_x.view(-1, 1, 1, 1)
    mask = (dy >= 0) & (dy < size) & (dx >= 0) & (dx < size)
    return images.masked_fill(mask, 0)


def train_batches(images, labels, cfg, epoch, state):
    """CifarLoader with alternating flip, translate r (reflect padding), hiverge's brightness/contrast jitter,
    Cutout, drop_last, reshuffled per epoch."""
    r, batch_size = cfg["translate"], cfg["batch_size"]
    if epoch == 0:
        flipped = random_flip(normalize(images))
        state["pad"] = F.pad(flipped, (r,) * 4, "reflect") if r > 0 else flipped
    batch = batch_crop(state["pad"], 32) if r > 0 else state["pad"]
    if epoch % 2 == 1:
        batch = batch.flip(-1)
    if cfg.get("brightness", 0) or cfg.get("contrast", 0):
        # Per image of the epoch, after the crop and the flips: (x + b) k in normalised space, no clamping.
        shift = (2 * torch.rand(len(batch)) - 1) * cfg["brightness"]
        scale = 1 + (2 * torch.rand(len(batch)) - 1) * cfg["contrast"]
        batch = hiverge.jitter(batch, shift, scale)
    if cfg["cutout"] > 0:
        batch = batch_cutout(batch, cfg["cutout"])
    indices = torch.randperm(len(batch))
    for i in range(len(batch) // batch_size):
        idx = indices[i * batch_size:(i + 1) * batch_size]
        yield batch[idx].contiguous(memory_format=torch.channels_last), labels[idx]


# ----------------------------------------------------------------------------------------------
# Networks.

def build_net(cfg, widths=None, convs=None, scale=1 / 9, classes=10):
    widths = widths or cfg["widths"]
    return family.make_sequential_net(widths, cfg["bn_momentum"], convs=convs or cfg["convs"],
                                      activation_after_add=cfg["activation_after_add"], scaling_factor=scale,
                                      classes=classes).to(memory_format=torch.channels_last)


def make_scheduler(optimizer, cfg, total):
    if cfg["schedule"] == "triangle":
        schedule = family.triangle_schedule(total, start=0.2, end=0.07, peak=0.23)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: schedule[i])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: family.warmup_linear_factor(i, total))


def evaluate(model, test, level, autocast, mean=MEAN, std=STD, mirror=True):
    images, labels = test
    with autocast:
        logits = torch.cat([listing4.infer(model, normalize(x, mean, std).contiguous(memory_format=torch.channels_last),
                                           level, mirror) for x in images.split(2000)])
    return (logits.float().argmax(1) == labels).float().mean().item()


def run_name(args, seed, warmup):
    return f"{args.method} warm-up" if warmup else f"{args.method} seed {seed}"


class Timer:
    def __init__(self):
        self.elapsed = 0.0

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.elapsed += time.perf_counter() - self.start


class StepLimit(Exception):
    pass


class Steps:
    """Counts training steps; stops a warm-up after its limit and times --steps S."""

    def __init__(self, limit, label):
        self.limit, self.label, self.times, self.count = limit, label, [], 0

    def start(self):
        self.t = time.perf_counter()

    def done(self):
        self.times.append(time.perf_counter() - self.t)
        self.count += 1
        if self.limit and self.count >= self.limit:
            raise StepLimit()

    def report(self):
        if self.label and len(self.times) > 1:
            print(f"{self.label}: median step {np.median(self.times[1:]):.3f} s over {len(self.times) - 1} steps")


# ----------------------------------------------------------------------------------------------
# Training: SGD methods (airbench93/94/95/96/96_2024).

def sgd_step(model, optimizer, scheduler, loss_fn, inputs, targets, autocast):
    with autocast:
        outputs = model(inputs)
        loss = loss_fn(outputs.float(), targets).sum()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss


def run_sgd(train, test, args, cfg, seed, limit, autocast, warmup=False):
    torch.manual_seed(seed)
    images, labels = train
    batch_size = cfg["batch_size"]
    model = build_net(cfg)
    optimizer, _ = family.kilostep_sgd(model, cfg, batch_size)
    steps_per_epoch = len(images) // batch_size
    total = math.ceil(steps_per_epoch * cfg["epochs"])
    scheduler = make_scheduler(optimizer, cfg, total)
    alpha = family.lookahead_decays(total)
    lookahead = listing4.LookaheadState(model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"], reduction="none")
    print(f"{run_name(args, seed, warmup)}: widths {cfg['widths']}, {len(images)} images, batch {batch_size}, "
          f"{steps_per_epoch} steps/epoch, T = {total}", flush=True)

    timer, steps, state, step = Timer(), Steps(limit, None if warmup else args.precision), {}, 0
    with timer:
        listing4.init_whitening_conv(model[0], normalize(images[:5000]))
    try:
        for epoch in range(math.ceil(total / steps_per_epoch)):
            model[0].bias.requires_grad = epoch < cfg["whiten_bias_epochs"]
            with timer:
                model.train()
                for inputs, targets in train_batches(images, labels, cfg, epoch, state):
                    steps.start()
                    loss = sgd_step(model, optimizer, scheduler, loss_fn, inputs, targets, autocast)
                    step += 1
                    if step % 5 == 0:
                        lookahead.update(model, decay=alpha[step].item())
                    if step >= total:
                        lookahead.update(model, decay=1.0)
                        steps.done()
                        break
                    steps.done()
            print(f"epoch {epoch}: train_loss {loss.item() / batch_size:.4f} time {timer.elapsed:.1f} s", flush=True)
    except StepLimit:
        steps.report()
        return None
    return finish(model, test, cfg, seed, timer, autocast)


def finish(model, test, cfg, seed, timer, autocast):
    with timer:
        tta = evaluate(model, test, cfg["tta_level"], autocast)
    plain = evaluate(model, test, 0, autocast)
    print(f"seed {seed}: tta_val_acc {tta:.4f} val_acc {plain:.4f} time_seconds {timer.elapsed:.1f}", flush=True)
    return tta, plain, timer.elapsed, None


# ----------------------------------------------------------------------------------------------
# Training: airbench94_muon.

def muon_epochs(model, sgd, muon, images, labels, cfg, total, steps_per_epoch, whiten_bias_steps, timer, steps,
                autocast):
    """The training epochs of the Muon methods (airbench94_muon, airbench94_hiverge): T = `total` steps over
    ceil(T / steps_per_epoch) loader epochs, the last cut short, the whitening bias trained for its first steps,
    SGD and Muon stepping together; the epochs timed by `timer`, the steps counted by `steps` (StepLimit passes)."""
    state, step = {}, 0
    for epoch in range(math.ceil(total / steps_per_epoch)):
        with timer:
            model.train()
            for inputs, targets in train_batches(images, labels, cfg, epoch, state):
                steps.start()
                with autocast:
                    outputs = model(inputs, whiten_bias_grad=step < whiten_bias_steps)
                    loss = F.cross_entropy(outputs.float(), targets, label_smoothing=cfg["label_smoothing"],
                                           reduction="sum")
                loss.backward()
                family.set_muon_lrs(sgd, muon, step, total, whiten_bias_steps)
                sgd.step()
                muon.step()
                model.zero_grad(set_to_none=True)
                step += 1
                steps.done()
                if step >= total:
                    break
        print(f"epoch {epoch}: train_loss {loss.item() / len(targets):.4f} time {timer.elapsed:.1f} s", flush=True)


def run_muon(train, test, args, cfg, seed, limit, autocast, warmup=False):
    torch.manual_seed(seed)
    images, labels = train
    batch_size = cfg["batch_size"]
    model = family.CifarNet(cfg["widths"], torch_momentum=cfg["bn_momentum"]).to(memory_format=torch.channels_last)
    steps_per_epoch = len(images) // batch_size
    total = math.ceil(cfg["epochs"] * steps_per_epoch)
    whiten_bias_steps = math.ceil(cfg["whiten_bias_epochs"] * steps_per_epoch)
    sgd, muon = family.muon_optimizers(model, batch_size, bias_lr=cfg["bias_lr"], head_lr=cfg["head_lr"],
                                       wd_per_example=cfg["wd_per_example"], muon_lr=cfg["muon_lr"],
                                       muon_momentum=cfg["muon_momentum"], sgd_momentum=cfg["momentum"],
                                       ns_dtype=torch.bfloat16 if args.muon_ns == "bf16" else torch.float32)
    print(f"{run_name(args, seed, warmup)}: widths {cfg['widths']}, {len(images)} images, batch {batch_size}, "
          f"{steps_per_epoch} steps/epoch, T = {total}, whitening bias {whiten_bias_steps} steps, "
          f"Newton-Schulz {args.muon_ns}", flush=True)

    timer, steps = Timer(), Steps(limit, None if warmup else args.precision)
    with timer:
        listing4.init_whitening_conv(model.whiten, normalize(images[:5000]))
    try:
        muon_epochs(model, sgd, muon, images, labels, cfg, total, steps_per_epoch, whiten_bias_steps, timer, steps,
                    autocast)
    except StepLimit:
        steps.report()
        return None
    return finish(model, test, cfg, seed, timer, autocast)


# ----------------------------------------------------------------------------------------------
# Training: airbench94_hiverge (as our Swift engine runs it: RunPlan, Muon, CifarLoader, Evaluation).

def hiverge_plan(cfg, train_images):
    """RunPlan's numbers: steps per epoch N // B, T = ceil(epochs * that), the whitening bias's steps
    ceil(0.19 * steps per epoch) (T if that reaches T), Muon's adaptive renormalisation steps."""
    steps_per_epoch = train_images // cfg["batch_size"]
    total = math.ceil(steps_per_epoch * cfg["epochs"])
    frozen_at = cfg["whiten_bias_epochs"] * steps_per_epoch
    whiten_bias_steps = total if frozen_at >= total else math.ceil(frozen_at)
    return steps_per_epoch, total, whiten_bias_steps, hiverge.renormalisation_steps(total)


def run_hiverge(train, test, args, cfg, seed, limit, autocast, warmup=False):
    torch.manual_seed(seed)
    images, labels = train
    batch_size = cfg["batch_size"]
    model = hiverge.hiverge_net(cfg["widths"], torch_momentum=cfg["bn_momentum"]).to(memory_format=torch.channels_last)
    steps_per_epoch, total, whiten_bias_steps, renorm = hiverge_plan(cfg, len(images))
    sgd, muon = hiverge.hiverge_optimizers(model, cfg, total, batch_size=batch_size,
                                           ns_dtype=torch.bfloat16 if args.muon_ns == "bf16" else None)
    print(f"{run_name(args, seed, warmup)}: widths {cfg['widths']}, {len(images)} images, batch {batch_size}, "
          f"{steps_per_epoch} steps/epoch, T = {total}, whitening bias {whiten_bias_steps} steps, whitening from "
          f"{min(cfg['whitening_images'], len(images))} images, Muon renormalises at {len(renorm)} steps "
          f"(t = {', '.join(map(str, renorm))}), Newton-Schulz {args.muon_ns}"
          f"{' operands' if args.muon_ns == 'bf16' else ''}", flush=True)

    timer, steps = Timer(), Steps(limit, None if warmup else args.precision)
    with timer:
        listing4.init_whitening_conv(model.whiten, normalize(images[:cfg["whitening_images"]]))
    try:
        muon_epochs(model, sgd, muon, images, labels, cfg, total, steps_per_epoch, whiten_bias_steps, timer, steps,
                    autocast)
    except StepLimit:
        steps.report()
        return None
    assert muon.renormalised == renorm, (muon.renormalised, renorm)
    with timer:  # timed as the Swift engine does: the plain view of every image and the selected images' views
        selective, plain, count = evaluate_selective(model, test, cfg["tta_select"], autocast)
    full = evaluate(model, test, cfg["tta_level"], autocast)  # the full TTA beside it, untimed
    print(f"seed {seed}: tta_val_acc {selective:.4f} full_tta_val_acc {full:.4f} val_acc {plain:.4f} "
          f"time_seconds {timer.elapsed:.1f} (tta_val_acc: selective TTA of the {count} least confident)", flush=True)
    return selective, plain, timer.elapsed, full


def evaluate_selective(model, test, fraction, autocast, mean=MEAN, std=STD, mirror=True):
    """hiverge's selective TTA (make_hiverge_fixtures.selective_tta): returns its accuracy, the plain view's and
    how many images got the views."""
    images, labels = test
    with autocast:
        inputs = normalize(images, mean, std).contiguous(memory_format=torch.channels_last)
        plain, selected, merged, _ = hiverge.selective_tta(model, inputs, fraction, mirror)
    accuracy = (lambda logits: (logits.argmax(1) == labels).float().mean().item())
    return accuracy(merged), accuracy(plain), len(selected)


# ----------------------------------------------------------------------------------------------
# Training: airbench96_faster.

def run_faster(train, test, args, cfg, seed, limit, autocast, warmup=False):
    torch.manual_seed(seed)
    images, labels = train
    batch_size, keep = cfg["batch_size"], cfg["batch_size"] // 2
    data_seed = seed
    main = build_net(cfg)
    proxy = build_net(cfg, widths=cfg["proxy_widths"], convs=2)
    proxy[0].bias.requires_grad = False
    steps_per_epoch = len(images) // batch_size
    total = math.ceil(steps_per_epoch * cfg["epochs"])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"], reduction="none")
    print(f"{run_name(args, seed, warmup)}: widths {cfg['widths']}, proxy {cfg['proxy_widths']}, "
          f"{len(images)} images, batch {batch_size} (keep {keep}), {steps_per_epoch} steps/epoch, T = {total}",
          flush=True)
    timer = Timer()
    with timer:
        listing4.init_whitening_conv(main[0], normalize(images[:5000]))

    # The proxy: trained first through the whole stream, backward on every proxy_every-th step only.
    optimizer, _ = family.kilostep_sgd(proxy, cfg, batch_size)
    scheduler = make_scheduler(optimizer, cfg, total)
    steps, masks = Steps(limit, None if warmup else f"{args.precision} proxy"), []
    try:
        with timer:
            listing4.init_whitening_conv(proxy[0], normalize(images[:5000]))
            proxy.train()
            for t, (inputs, targets) in enumerate(stream(images, labels, cfg, data_seed)):
                steps.start()
                train_step = t % cfg["proxy_every"] == 0
                with torch.set_grad_enabled(train_step), autocast:
                    losses = loss_fn(proxy(inputs).float(), targets)
                mask = torch.zeros(batch_size, dtype=torch.bool)
                mask[losses.detach().argsort()[-keep:]] = True
                masks.append(mask)
                if train_step:
                    loss = (losses * mask.float()).sum()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                steps.done()
                if t + 1 == total:
                    break
        if not warmup:
            print(f"proxy: {total} steps, time {timer.elapsed:.1f} s", flush=True)
    except StepLimit:  # warm-up or --steps: as many main steps as proxy steps
        steps.report()
        limit = len(masks)

    # The main net on the same stream, on the kept half of each batch, with Lookahead; whitening bias never frozen.
    optimizer, _ = family.kilostep_sgd(main, cfg, batch_size)
    scheduler = make_scheduler(optimizer, cfg, total)
    alpha = family.lookahead_decays(total)
    lookahead = listing4.LookaheadState(main)
    steps, step = Steps(limit, None if warmup else f"{args.precision} main"), 0
    try:
        with timer:
            main.train()
            for inputs, targets in stream(images, labels, cfg, data_seed):
                steps.start()
                mask = masks[step]
                kept = inputs[mask].contiguous(memory_format=torch.channels_last)
                loss = sgd_step(main, optimizer, scheduler, loss_fn, kept, targets[mask], autocast)
                step += 1
                if step % 5 == 0:
                    lookahead.update(main, decay=alpha[step].item())
                if step == total:
                    lookahead.update(main, decay=1.0)
                if not warmup and (step % steps_per_epoch == 0 or step == total):
                    print(f"epoch {math.ceil(step / steps_per_epoch) - 1}: train_loss {loss.item() / batch_size:.4f} "
                          f"time {timer.elapsed + time.perf_counter() - timer.start:.1f} s", flush=True)
                steps.done()
                if step == total:
                    break
    except StepLimit:
        steps.report()
        return None
    return finish(main, test, cfg, seed, timer, autocast)


def stream(images, labels, cfg, data_seed):
    """airbench96_faster's InfiniteCifarLoader (spec C.2) as (inputs, labels): before epoch 1 a random flip seeded
    1000*seed + 0 and reflect padding; each epoch e = 1, 2, ... crop, flip all if e is odd, Cutout, all seeded
    1000*seed + e, then a permutation seeded 1000*seed + e again; batches of exactly batch_size span epoch
    boundaries. The proxy and the main net get identical streams."""
    cache = {}
    r = cfg["translate"]
    images0 = random_flip(normalize(images), torch.Generator().manual_seed(1000 * data_seed + 0))
    if r > 0:
        images0 = F.pad(images0, (r,) * 4, "reflect")
    n, batch_size = len(images), cfg["batch_size"]
    epoch, pointer, parts = 0, n, []
    while True:
        if pointer >= n:
            epoch += 1
            g = torch.Generator().manual_seed(1000 * data_seed + epoch)
            images1 = batch_crop(images0, 32, g) if r > 0 else images0
            if epoch % 2 == 1:
                images1 = images1.flip(-1)
            if cfg["cutout"] > 0:
                images1 = batch_cutout(images1, cfg["cutout"], g)
            order = torch.randperm(n, generator=torch.Generator().manual_seed(1000 * data_seed + epoch))
            cache["images"], pointer = images1, 0
        need = batch_size - sum(len(p[0]) for p in parts)
        idx = order[pointer:pointer + need]
        pointer += len(idx)
        parts.append((idx, cache["images"][idx], labels[idx]))
        if sum(len(p[0]) for p in parts) == batch_size:
            inputs = torch.cat([p[1] for p in parts]).contiguous(memory_format=torch.channels_last)
            targets = torch.cat([p[2] for p in parts])
            parts = []
            yield inputs, targets


# ----------------------------------------------------------------------------------------------
# Evaluating a saved model.

def infer_architecture(state, metadata):
    method = metadata.get("method")
    if method is not None and method.startswith("table5-"):
        method = "airbench96"  # the paper's Table 5 presets are airbench96 on other data sets
    if method is None:
        if "whiten.weight" in state:
            # airbench's spec metadata names the groups' activation when it is not GELU: SiLU is hiverge's.
            method = "airbench94_hiverge" if '"silu"' in metadata.get("spec", "") else "airbench94_muon"
        elif "2.conv3.weight" in state:
            method = "airbench96_2024" if metadata.get("activation_after_add") == "true" else "airbench96"
        else:
            method = "airbench94"
    assert method in METHODS, f"unknown method {method!r}"
    if method == "airbench94_hiverge":
        widths = tuple(state[f"layers.{g}.conv1.weight"].shape[0] for g in (1, 2, 3))
        model = hiverge.hiverge_net(widths, classes=state["head.weight"].shape[0])
        return method, model, widths, f"1/{widths[2]}, SiLU in the groups"
    if method == "airbench94_muon":
        widths = tuple(state[f"layers.{g}.conv1.weight"].shape[0] for g in (1, 2, 3))
        classes = state["head.weight"].shape[0]
        return method, family.CifarNet(widths, classes=classes), widths, f"1/{widths[2]}"
    convs = 3 if "2.conv3.weight" in state else 2
    after = metadata.get("activation_after_add") == "true" or method in ("airbench96_2024", "airbench96_faster")
    widths = tuple(state[f"{g}.conv1.weight"].shape[0] for g in (2, 3, 4))
    classes = state["7.weight"].shape[0]
    model = family.make_sequential_net(widths, 0.1, convs=convs, activation_after_add=after, classes=classes)
    return method, model, widths, f"1/9, {convs} convs per group" + (
        f", GELU {'after' if after else 'before'} the add" if convs == 3 else "")


def evaluate_model(path, folder):
    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    state = load_file(path)
    with safe_open(path, "pt") as f:
        metadata = f.metadata() or {}
    method, model, widths, note = infer_architecture(state, metadata)
    missing, unexpected = model.load_state_dict(state, strict=False)
    dataset = json.loads(metadata.get("dataset", '{"name": "cifar10"}'))
    normalization = json.loads(metadata.get("normalization", "null") or "null")
    mean, std = (MEAN, STD) if normalization is None else (
        torch.tensor(normalization["mean"]).view(1, 3, 1, 1), torch.tensor(normalization["std"]).view(1, 3, 1, 1))
    classes = (state["head.weight"] if "head.weight" in state else state["7.weight"]).shape[0]
    print(f"loaded {path}: method {method} ({'metadata' if 'method' in metadata else 'inferred'}), widths {widths}, "
          f"{classes} classes, output scale {note}, data set {dataset}; missing {missing}, unexpected {unexpected}")
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        sys.exit("the file does not match the network: missing or unexpected entries besides num_batches_tracked")
    test = read_test_split(folder, dataset)
    if int(test[1].max()) >= classes:
        sys.exit(f"the test labels reach {int(test[1].max())}, but the model has {classes} outputs")
    no_autocast = torch.autocast("cpu", enabled=False)
    mirror = dataset.get("name") != "svhn"
    for level in (0, 2):
        accuracy = evaluate(model, test, level, no_autocast, mean, std, mirror)
        print(f"PyTorch test accuracy, TTA {level}: {accuracy:.4f} ({len(test[1])} images)")
    if method == "airbench94_hiverge":
        fraction = float(metadata.get("tta_select", METHODS[method]["tta_select"]))
        accuracy, _, count = evaluate_selective(model, test, fraction, no_autocast, mean, std, mirror)
        print(f"PyTorch test accuracy, selective TTA 2 (the {count} least confident, fraction {fraction}"
              f"{' from the metadata' if 'tta_select' in metadata else ''}): {accuracy:.4f} ({len(test[1])} images)")


# ----------------------------------------------------------------------------------------------

def parse_widths(text):
    widths = tuple(int(w) for w in text.split(","))
    if len(widths) != 3:
        raise argparse.ArgumentTypeError("three comma-separated widths, e.g. 64,256,256")
    return widths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--method", choices=list(METHODS), default="airbench94")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed-offset", type=int, default=0, help="seeds are OFFSET .. OFFSET+runs-1")
    parser.add_argument("--epochs", type=float, help="override the method's epochs")
    parser.add_argument("--widths", type=parse_widths, help="override the main network's widths, a,b,c")
    parser.add_argument("--proxy-widths", type=parse_widths, help="airbench96_faster: override the proxy's widths")
    parser.add_argument("--train-images", type=int, help="train on the first N training images")
    parser.add_argument("--batch-size", type=int, help="override the method's batch size")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--muon-ns", choices=["bf16", "fp32"],
                        help="Newton-Schulz precision. airbench94_muon: the whole iteration in it (default bf16, the "
                             "reference's); airbench94_hiverge: bf16 rounds each product's operands, products and sums "
                             "float32, as the Swift engine's bf16 kernels (default: --precision, as the engine)")
    parser.add_argument("--evaluate-model", metavar="FILE")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # What decides PyTorch's speed here: its version, the instruction set its kernels run (ATEN_CPU_CAPABILITY
    # and ONEDNN_MAX_CPU_ISA can lower it) and the threads.
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"oneDNN ISA limit {os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')}, {torch.get_num_threads()} threads")
    if args.evaluate_model:
        evaluate_model(args.evaluate_model, args.data)
        return

    if args.muon_ns is None:
        args.muon_ns = args.precision if args.method == "airbench94_hiverge" else "bf16"
    cfg = dict(METHODS[args.method])
    for key in ("epochs", "widths", "proxy_widths", "batch_size"):
        if getattr(args, key) is not None:
            if key not in cfg:
                parser.error(f"--{key.replace('_', '-')} does not apply to {args.method}")
            cfg[key] = getattr(args, key)
    train = read_split(args.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    if args.train_images:
        train = (train[0][:args.train_images], train[1][:args.train_images])
    if len(train[0]) < cfg["batch_size"]:
        parser.error(f"{len(train[0])} training images do not fill one batch of {cfg['batch_size']}")
    test = read_split(args.data, ["test_batch.bin"])
    runner = {"airbench94_muon": run_muon, "airbench94_hiverge": run_hiverge,
              "airbench96_faster": run_faster}.get(args.method, run_sgd)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    if not args.steps and not args.no_warmup:
        # Warm-up: one epoch of the first 2048 images with random labels (the paper's airbench94 warm-up).
        n = max(2048, cfg["batch_size"])
        warm = (train[0][:n], torch.randint(0, 10, (min(n, len(train[0])),)))
        runner(warm, test, args, cfg, seed=0, limit=len(warm[0]) // cfg["batch_size"], autocast=autocast, warmup=True)
    results = [runner(train, test, args, cfg, seed=s, limit=args.steps, autocast=autocast)
               for s in range(args.seed_offset, args.seed_offset + args.runs)]
    results = [r for r in results if r]
    if results:
        tta = torch.tensor([r[0] for r in results])
        plain = torch.tensor([r[1] for r in results])
        std = (lambda x: x.std().item() if len(x) > 1 else 0.0)
        full = torch.tensor([r[3] for r in results if r[3] is not None])
        print(f"{args.method}: {len(results)} runs. Mean tta_val_acc {tta.mean():.4f} (std {std(tta):.4f})  "
              + (f"full_tta_val_acc {full.mean():.4f} (std {std(full):.4f})  " if len(full) else "")
              + f"val_acc {plain.mean():.4f} (std {std(plain):.4f})  "
              f"time median {np.median([r[2] for r in results]):.1f} s")


if __name__ == "__main__":
    main()
