#!/usr/bin/env python3
"""The PyTorch-on-CPU peer, for side-by-side timing and accuracy on the same machine as `airbench`.

It runs airbench94 as in the paper's Listing 4, changed only to run on the CPU: no .cuda(), float32 or bfloat16
autocast instead of half precision, channels_last kept, the training data read from the CIFAR-10 binary files
(no torchvision). The network, whitening, Lookahead, schedule and TTA come from make_fixtures.py (our own
re-implementation of Listing 4). Timing follows the paper: a warm-up first, then from the first access to
training data to the test predictions, per-epoch evaluation excluded.

Usage:  /path/to/venv/bin/python scripts/pytorch_peer.py --data DIR [--precision fp32|bf16] [--runs N]
        [--epochs E] [--threads T] [--steps S]
DIR holds data_batch_1..5.bin and test_batch.bin (e.g. the cache folder `airbench` extracts into).
--steps S times only the first S training steps and prints the seconds per step (for quick ratios).
--evaluate-model FILE loads a model saved by `airbench train94 --save-model` into this network with
`load_state_dict(safetensors.torch.load_file(FILE), strict=False)` and prints its test accuracy at TTA 0 and 2.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as listing4  # noqa: E402

MEAN = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
STD = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)


def read_split(folder, names):
    records = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    return images, labels


def normalize(images):
    return ((images.float() / 255) - MEAN) / STD


def batch_crop(images, crop_size):
    r = (images.size(-1) - crop_size) // 2
    shifts = torch.randint(-r, r + 1, size=(len(images), 2))
    out = torch.empty((len(images), 3, crop_size, crop_size), dtype=images.dtype)
    for sy in range(-r, r + 1):
        for sx in range(-r, r + 1):
            mask = (shifts[:, 0] == sy) & (shifts[:, 1] == sx)
            out[mask] = images[mask, :, r + sy:r + sy + crop_size, r + sx:r + sx + crop_size]
    return out


def train_batches(images, labels, batch_size, epoch, state):
    """Listing 4's CifarLoader with flip + translate 2 (alternating flip)."""
    if epoch == 0:
        normed = normalize(images)
        flip = (torch.rand(len(normed)) < 0.5).view(-1, 1, 1, 1)
        normed = torch.where(flip, normed.flip(-1), normed)
        state["pad"] = torch.nn.functional.pad(normed, (2,) * 4, "reflect")
    batch = batch_crop(state["pad"], 32)
    if epoch % 2 == 1:
        batch = batch.flip(-1)
    indices = torch.randperm(len(batch))
    for i in range(len(batch) // batch_size):
        idx = indices[i * batch_size:(i + 1) * batch_size]
        yield batch[idx].contiguous(memory_format=torch.channels_last), labels[idx]


def run(train, test, args, seed, warmup=False):
    torch.manual_seed(seed)
    images, labels = train
    if warmup:
        labels = torch.randint(0, 10, labels.shape)
    batch_size, epochs, momentum = 1024, args.epochs, 0.85
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr = 11.5 / kilostep_scale
    wd = 0.0153 * batch_size / kilostep_scale
    lr_biases = lr * 64
    model = listing4.make_net((64, 256, 256)).to(memory_format=torch.channels_last)
    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    others = [p for k, p in model.named_parameters() if "norm" not in k and p.requires_grad]
    optimizer = torch.optim.SGD([dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                                 dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=momentum, nesterov=True)
    steps_per_epoch = len(images) // batch_size
    total = math.ceil(steps_per_epoch * epochs)
    schedule = listing4.triangle(total, start=0.2, end=0.07, peak=0.23)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: schedule[i])
    alpha = 0.95**5 * (torch.arange(total + 1) / total)**3
    lookahead = listing4.LookaheadState(model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="none")
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    start = time.perf_counter()
    listing4.init_whitening_conv(model[0], normalize(images[:5000]))
    elapsed, step, state = time.perf_counter() - start, 0, {}
    step_times = []
    for epoch in range(math.ceil(epochs)):
        model[0].bias.requires_grad = epoch < 3
        start = time.perf_counter()
        model.train()
        for inputs, targets in train_batches(images, labels, batch_size, epoch, state):
            t = time.perf_counter()
            with autocast:
                outputs = model(inputs)
                loss = loss_fn(outputs.float(), targets).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 5 == 0:
                lookahead.update(model, decay=alpha[step].item())
            if step >= total:
                lookahead.update(model, decay=1.0)
                break
            step_times.append(time.perf_counter() - t)
            if args.steps and step >= args.steps:
                print(f"{args.precision}: median step {np.median(step_times[1:]):.3f} s over {len(step_times) - 1} steps")
                return None
        elapsed += time.perf_counter() - start
        if warmup:
            return None
        print(f"epoch {epoch}: train_loss {loss.item() / batch_size:.4f} time {elapsed:.1f} s", flush=True)
    start = time.perf_counter()
    test_images, test_labels = test
    with autocast:
        logits = torch.cat([listing4.infer(model, normalize(x).contiguous(memory_format=torch.channels_last), 2)
                            for x in test_images.split(2000)])
    accuracy = (logits.float().argmax(1) == test_labels).float().mean().item()
    elapsed += time.perf_counter() - start
    print(f"seed {seed}: tta_val_acc {accuracy:.4f} time_seconds {elapsed:.1f}", flush=True)
    return accuracy, elapsed


def evaluate_model(path, test):
    from safetensors.torch import load_file
    state = load_file(path)
    widths = tuple(state[f"{g}.conv1.weight"].shape[0] for g in (2, 3, 4))
    model = listing4.make_net(widths)
    missing, unexpected = model.load_state_dict(state, strict=False)
    print(f"loaded {path}: widths {widths}, missing {missing}, unexpected {unexpected}")
    images, labels = test
    for level in (0, 2):
        logits = torch.cat([listing4.infer(model, normalize(x), level) for x in images.split(2000)])
        print(f"PyTorch test accuracy, TTA {level}: {(logits.argmax(1) == labels).float().mean().item():.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--epochs", type=float, default=9.9)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--evaluate-model", metavar="FILE")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.evaluate_model:
        evaluate_model(args.evaluate_model, read_split(args.data, ["test_batch.bin"]))
        return
    train = read_split(args.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test = read_split(args.data, ["test_batch.bin"])
    if not args.steps:
        run((train[0][:2048], train[1][:2048]), test, args, seed=0, warmup=True)
    results = [run(train, test, args, seed=s) for s in range(args.runs)]
    results = [r for r in results if r]
    if results:
        accs = torch.tensor([r[0] for r in results])
        print(f"Mean: {accs.mean():.4f}  Std: {accs.std() if len(accs) > 1 else 0:.4f}  "
              f"time median {np.median([r[1] for r in results]):.1f} s")


if __name__ == "__main__":
    main()
