#!/usr/bin/env python3
"""Generates the PyTorch reference fixture of airbench94_hiverge (hiverge/cifar10-speedrun, spec
airbench-hiverge.md), and checks a model exported by the Swift engine (--verify-export).

Writes Tests/AirbenchTests/Fixtures/hiverge.safetensors:

* A hiverge CifarNet (SiLU inside the ConvGroups, GELU after the whitening conv; keys whiten.*,
  layers.{1,2,3}.*, head.weight; output / 16), widths 8/16/16, batch 8, float32 on the CPU: 5 steps of a
  40-step run with hiverge's optimizers: SGD (Nesterov 0.825, coupled wd/lr per group) on the whitening
  bias (trained for 3 steps on its own linear decay), BatchNorm biases and head; hiverge's Muon on the
  six filters (new Newton-Schulz coefficients with the tau "target magnitude", renormalisation at the
  adaptive interval, which fires at t = 2 and 5 of these five steps, decoupled weight decay after the
  update; Newton-Schulz without its tau pre-scale, which cancels). Label smoothing 0.09, BatchNorm
  PyTorch momentum 0.4434. Step 1's logits, loss and gradients
  (the SiLU groups' forward and backward), each step's loss and the state after step 5.
* Newton-Schulz alone with hiverge's coefficients on a 16x72 matrix, literally (with the tau pre-scale).
* The renormalisation steps of the rule for T = 40 (this run) and T = 243 (the record).
* The brightness/contrast jitter of 4 normalised images (step 1's first) given their drawn shift b and
  scale k.
* Selective TTA of 16 images (steps 4 and 5's) by the network after step 5 (eval mode): the plain logits,
  the 4 least confident (fraction 0.25) and the merged logits (their 6 views' plain mean, the plain view
  elsewhere).

The weight decay is exaggerated (0.05 per step for Muon, i.e. 0.05/8 per example, instead of the record's
1.0418e-6 per example) so that a wrong placement of it shows at the tests' tolerance. Newton-Schulz runs in
float32 (the record uses float16; the Swift engine computes in float32 or with bf16 products).

Conventions as make_fixtures.py and make_family_fixtures.py (NCHW, OIHW, float32, labels and indices
int64, the same reproducible writer, random 3x3 filters instead of dirac and small random biases, the first
seed without max-pool near-ties (here 5 times further apart), and here also without near-ties at the
selective-TTA cut or in the predictions).

Usage:  /path/to/venv/bin/python scripts/make_hiverge_fixtures.py
        /path/to/venv/bin/python scripts/make_hiverge_fixtures.py --verify-export MODEL.safetensors
The second form loads a model exported by the Swift engine (HivergeFixtureTests writes one, with the
images and its own selective-TTA choice and predictions beside it in MODEL.check.safetensors, when
AIRBENCH_HIVERGE_EXPORT_TO=MODEL.safetensors is set) into this script's CifarNet with strict key checking
and compares the selective-TTA choice and predictions.
"""

import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_family_fixtures as family  # noqa: E402
import make_fixtures as base  # noqa: E402
from make_fixtures import Conv  # noqa: E402

GENERATOR = "scripts/make_hiverge_fixtures.py"
SEED = 5150
WIDTHS = (8, 16, 16)
BATCH = 8
STEPS = 5
TOTAL_STEPS = 40
WHITEN_BIAS_STEPS = 3
TTA_IMAGES = 16
TTA_FRACTION = 0.25
HYP = dict(muon_lr=0.205, muon_momentum=0.655, bias_lr=0.0573, head_lr=0.5415, wd_per_example=0.05 / BATCH,
           momentum=0.825, label_smoothing=0.09, torch_momentum=0.4434)
NS_COEFFICIENTS = (3.4576, -4.7391, 2.0843)
JITTER = dict(brightness=0.1399, contrast=0.1308)
# The relative gaps below which a choice is a near-tie: two correct implementations may then decide differently.
# Max-pool windows (in the training steps and the 6 TTA views) are held 5x further apart than make_fixtures.py's
# NEAR_TIE, the selective cut and the predictions' top two logits as below.
POOL_GAP = 5 * base.NEAR_TIE
CUT_GAP = 1e-3
ARGMAX_GAP = 1e-4


# ----------------------------------------------------------------------------------------------
# The network (spec section 2.1): airbench94_muon's CifarNet with SiLU inside the ConvGroups.

def hiverge_net(widths, torch_momentum=HYP["torch_momentum"], classes=10):
    """hiverge's CifarNet: keys as airbench94_muon's; the GELU after the whitening conv stays."""
    model = family.CifarNet(widths, torch_momentum=torch_momentum, classes=classes)
    for group in model.layers[1:4]:
        group.activ = nn.SiLU()
    return model


# ----------------------------------------------------------------------------------------------
# Muon as hiverge runs it (spec section 4.3), per matrix (the record pads and batches: exact).

def newton_schulz_hiverge(G, t, total_steps, steps=3, target_magnitude=True, operand_dtype=None):
    """X = G tau/(|G|+1e-5); X /= |X|+1e-5; 3 times A = X X^T, B = bA + cAA, X = aX + BX (float32).

    target_magnitude=False normalises as airbench94_muon does, X = G/(|G|+1e-7): the same to 2e-5 here
    (spec 4.3: tau cancels). A tall G (more rows than columns) is transposed first and back at the end (NS
    commutes with transposition; none of this network's matrices is tall at the record's widths).
    operand_dtype (e.g. torch.bfloat16) rounds the operands of each of the three products to that type, the
    products and sums staying float32: what the Swift engine's bf16 kernels compute (pytorch_peer.py)."""
    a, b, c = NS_COEFFICIENTS
    X = G.float()
    if target_magnitude:
        tau = 0.5012 * (1 - t / total_steps) + 0.0786 * (t / total_steps)
        X = X * tau / (X.norm() + 1e-5)
        X = X / (X.norm() + 1e-5)
    else:
        X = X / (X.norm() + 1e-7)
    transposed = X.size(0) > X.size(1)
    if transposed:
        X = X.T
    if operand_dtype is None:
        for _ in range(steps):
            A = X @ X.T
            B = b * A + c * (A @ A)
            X = a * X + B @ X
    else:
        def r(M):
            return M.to(operand_dtype).float()
        for _ in range(steps):
            Xr = r(X)
            A = Xr @ Xr.T
            Ar = r(A)
            B = b * A + c * (Ar @ Ar)
            X = a * X + r(B) @ Xr
    return X.T if transposed else X


def renormalisation_steps(total_steps):
    """The 1-based t at which hiverge's Muon renormalises: t - t_last >= 2 + floor(15 t / T)."""
    steps, last = [], 0
    for t in range(1, total_steps + 1):
        if t - last >= 2 + (15 * t) // total_steps:
            steps.append(t)
            last = t
    return steps


class HivergeMuon(torch.optim.Optimizer):
    """buf = m buf + g; v = g + m buf; U = NS(v); if renorm: p *= sqrt(out)/(|p|+1e-7); p -= lr U;
    p *= 1 - lr wd.

    NS normalises without the tau pre-scale here: it moves the weights by 2e-5 relative, as much as the
    smallest max-pool gap this small run can be drawn with (2e-5), and a flipped window would test the
    tie-breaking instead of the method (seen: 3e-3 apart after step 3). ns.output records the literal form.
    ns_dtype: newton_schulz_hiverge's operand_dtype (None: float32 throughout)."""

    def __init__(self, params, lr, momentum, weight_decay, total_steps, ns_dtype=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        self.total_steps = total_steps
        self.ns_dtype = ns_dtype
        self.t = 0
        self.t_last = 0
        self.renormalised = []

    @torch.no_grad()
    def step(self):
        self.t += 1
        renormalise = self.t - self.t_last >= 2 + (15 * self.t) // self.total_steps
        if renormalise:
            self.t_last = self.t
            self.renormalised.append(self.t)
        for group in self.param_groups:
            lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(g)
                v = g + momentum * buf
                update = newton_schulz_hiverge(v.reshape(len(v), -1), self.t, self.total_steps,
                                               target_magnitude=False, operand_dtype=self.ns_dtype).view(g.shape)
                if renormalise:
                    p.mul_(len(p) ** 0.5 / (p.norm() + 1e-7))
                p.add_(update, alpha=-lr)
                p.mul_(1 - lr * wd)


def hiverge_optimizers(model, h, total_steps, batch_size=BATCH, muon_weight_decay=None, ns_dtype=None):
    """SGD (groups whiten_bias, norm_biases, head; coupled weight_decay wd/lr with wd = h["wd_per_example"] *
    batch_size) and HivergeMuon (decoupled muon_weight_decay, by default the same wd)."""
    wd = h["wd_per_example"] * batch_size
    filters = [p for p in model.parameters() if p.ndim == 4 and p.requires_grad]
    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    sgd = torch.optim.SGD([dict(params=[model.whiten.bias], lr=h["bias_lr"], weight_decay=wd / h["bias_lr"]),
                           dict(params=norm_biases, lr=h["bias_lr"], weight_decay=wd / h["bias_lr"]),
                           dict(params=[model.head.weight], lr=h["head_lr"], weight_decay=wd / h["head_lr"])],
                          momentum=h["momentum"], nesterov=True)
    muon = HivergeMuon(filters, lr=h["muon_lr"], momentum=h["muon_momentum"],
                       weight_decay=wd if muon_weight_decay is None else muon_weight_decay, total_steps=total_steps,
                       ns_dtype=ns_dtype)
    for optimizer in (sgd, muon):
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    return sgd, muon


# ----------------------------------------------------------------------------------------------
# The jitter (spec section 1.3) and selective TTA (section 5).

def jitter(images, shift, scale):
    """(x + b) k per image, in normalised space, no clamping."""
    return (images + shift.view(-1, 1, 1, 1)) * scale.view(-1, 1, 1, 1)


def six_views(images, mirror=True):
    """The image, its (+1,+1) and (-1,-1) reflect-padded shifts, and the mirrors of the three (without
    mirror, as for SVHN: the three unmirrored ones)."""
    padded = F.pad(images, (1,) * 4, "reflect")
    shifted = [images, padded[:, :, 0:32, 0:32], padded[:, :, 2:34, 2:34]]
    return [view for x in shifted for view in ((x, x.flip(-1)) if mirror else (x,))]


def chunked_logits(model, images, chunk=2000):
    """model(images) in float32, `chunk` images at a time (one chunk for the fixture's 16)."""
    return torch.cat([model(x).float() for x in images.split(chunk)])


@torch.no_grad()
def selective_tta(model, images, fraction, mirror=True):
    """Returns (plain logits, selected indices ascending, merged logits, confidence)."""
    model.eval()
    plain = chunked_logits(model, images)
    confidence = plain.softmax(-1).amax(-1)
    count = int(fraction * len(images))
    selected = confidence.topk(count, largest=False).indices.sort().values
    views = six_views(images[selected], mirror)
    merged = plain.clone()
    merged[selected] = torch.stack([chunked_logits(model, v) for v in views]).mean(0)
    return plain, selected, merged, confidence


def choice_gaps(confidence, count, logits):
    """Relative gaps at the selective cut and between each merged logit row's two largest values."""
    ordered = confidence.sort().values
    cut = ((ordered[count] - ordered[count - 1]) / ordered[count - 1]).item()
    top2 = logits.topk(2, dim=-1).values
    argmax = ((top2[:, 0] - top2[:, 1]) / top2[:, 0].abs().clamp_min(1e-30)).min().item()
    return cut, argmax


# ----------------------------------------------------------------------------------------------

def make_fixture(seed):
    h = HYP
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    images, labels = family.make_inputs(generator, BATCH * STEPS)
    for k in range(1, STEPS + 1):
        tensors[f"step{k}.input"] = images[(k - 1) * BATCH:k * BATCH]
        tensors[f"step{k}.labels"] = labels[(k - 1) * BATCH:k * BATCH]

    torch.manual_seed(seed)
    model = hiverge_net(WIDTHS)
    tracker = base.PoolGapTracker(model)
    base.init_whitening_conv(model.whiten, images)
    family.randomize_init(model, generator, model.whiten, [m for m in model.modules() if isinstance(m, Conv)])
    for key, value in base.float_state(model).items():
        tensors[f"init.{key}"] = value

    sgd, muon = hiverge_optimizers(model, h, TOTAL_STEPS)
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    model.train()
    for s in range(STEPS):
        k = s + 1
        family.recorded_step(model, tensors, k, h["label_smoothing"], trainable, whiten_bias_grad=s < WHITEN_BIAS_STEPS)
        for group in sgd.param_groups[:1]:
            group["lr"] = group["initial_lr"] * (1 - s / WHITEN_BIAS_STEPS)
        for group in sgd.param_groups[1:] + muon.param_groups:
            group["lr"] = group["initial_lr"] * (1 - s / TOTAL_STEPS)
        sgd.step()
        muon.step()
        model.zero_grad(set_to_none=True)
    for key, value in base.float_state(model).items():
        tensors[f"final.state.{key}"] = value
    assert muon.renormalised == [t for t in renormalisation_steps(TOTAL_STEPS) if t <= STEPS] == [2, 5]

    ns_generator = torch.Generator().manual_seed(seed + 7)
    g = torch.randn(16, 72, generator=ns_generator)
    tensors["ns.input"] = g
    tensors["ns.output"] = newton_schulz_hiverge(g, 1, TOTAL_STEPS)

    tensors["renorm.steps40"] = torch.tensor(renormalisation_steps(TOTAL_STEPS), dtype=torch.int64)
    tensors["renorm.steps243"] = torch.tensor(renormalisation_steps(243), dtype=torch.int64)

    # Inputs from the steps' images (the file stays small): the jitter's are step 1's first 4, TTA's steps 4 and 5's.
    shift = (2 * torch.rand(4, generator=generator) - 1) * JITTER["brightness"]
    scale = 1 + (2 * torch.rand(4, generator=generator) - 1) * JITTER["contrast"]
    tensors["jitter.shift"], tensors["jitter.scale"] = shift, scale
    tensors["jitter.output"] = jitter(tensors["step1.input"][:4], shift, scale)

    tta_images = torch.cat([tensors["step4.input"], tensors["step5.input"]])
    assert len(tta_images) == TTA_IMAGES
    plain, selected, merged, confidence = selective_tta(model, tta_images, TTA_FRACTION)
    tensors["tta.plain_logits"] = plain
    tensors["tta.selected"], tensors["tta.logits"] = selected.to(torch.int64), merged
    tensors["tta.fraction"] = family.scalar(TTA_FRACTION)
    cut_gap, argmax_gap = choice_gaps(confidence, len(selected), merged)

    tensors["config.widths"] = torch.tensor(WIDTHS, dtype=torch.float32)
    for name in ("muon_lr", "muon_momentum", "bias_lr", "head_lr", "wd_per_example", "momentum", "label_smoothing"):
        tensors[f"hyp.{name}"] = family.scalar(h[name])
    tensors["hyp.batch_size"] = family.scalar(BATCH)
    tensors["hyp.batchnorm_momentum"] = family.scalar(1 - h["torch_momentum"])
    tensors["hyp.total_steps"] = family.scalar(TOTAL_STEPS)
    tensors["hyp.whiten_bias_steps"] = family.scalar(WHITEN_BIAS_STEPS)

    meta = family.metadata(
        "airbench94_hiverge (CifarNet with SiLU groups, hiverge's Muon + SGD), float32 CPU: widths 8/16/16, batch 8, "
        "5 steps of a 40-step run whose whitening bias trains for 3; Newton-Schulz alone; renormalisation steps; "
        "jitter; selective TTA", seed,
        network=("forward = conv2d(x, whiten.weight, whiten.bias) -> GELU -> layers.1..3 (conv1, MaxPool2, norm1, "
                 "SiLU, conv2, norm2, SiLU) -> MaxPool2d(3) -> flatten -> head -> / 16"),
        batchnorm="eps 1e-12, weight frozen at 1, bias trainable, PyTorch momentum 0.4434 (keep 0.5566)",
        muon=("the 6 layers.*.conv*.weight; per step t (1-based): renorm = t - t_last >= 2 + floor(15 t/T) "
              "(T = hyp.total_steps); buf = m buf + g; v = g + m buf; U = NS(v) normalised as X = G/(|G|_F + 1e-7), "
              "without the tau pre-scale (it cancels to 2e-5); if renorm p *= sqrt(out)/(|p|+1e-7); "
              "p -= lr U; p *= 1 - lr wd with wd = hyp.wd_per_example * hyp.batch_size (decoupled); "
              "m = hyp.muon_momentum"),
        newton_schulz=("float32: tau = 0.5012 (1 - t/T) + 0.0786 t/T; X = G tau/(|G|_F + 1e-5); X /= |X|_F + 1e-5; "
                       "3 times A = X X^T, B = b A + c A A, X = a X + B X; (a, b, c) = (3.4576, -4.7391, 2.0843); "
                       "ns.output at t = 1, T = 40, literally with tau"),
        sgd=("torch SGD momentum hyp.momentum nesterov; groups whiten_bias (hyp.bias_lr), norm_biases "
             "(hyp.bias_lr), head (hyp.head_lr); each weight_decay = hyp.wd_per_example*hyp.batch_size/initial lr"),
        schedule=("before 0-based step s: whiten_bias lr = hyp.bias_lr (1 - s/hyp.whiten_bias_steps), detached "
                  "from step hyp.whiten_bias_steps on; the others and Muon initial (1 - s/hyp.total_steps)"),
        renorm="renorm.steps40 / renorm.steps243: the 1-based t at which the rule fires for T = 40 / 243",
        jitter=("jitter.output = (x + b) * k per image for x the first 4 images of step1.input, "
                "b = jitter.shift = (2u - 1) 0.1399, k = jitter.scale = 1 + (2v - 1) 0.1308"),
        tta=(f"network after step 5, eval mode, on x = the 16 images of step4.input then step5.input: "
             f"tta.plain_logits = net(x); the int({TTA_FRACTION} * 16) = 4 "
             "images of lowest max softmax (tta.selected, ascending) get the plain mean of their 6 views' logits "
             "(image, reflect-pad-1 crops [0:32] and [2:34], and the mirrors); tta.logits: those, the plain logits "
             f"elsewhere. Relative gap at the cut {cut_gap:.2e}, smallest argmax gap {argmax_gap:.2e}"),
        step_order="forward -> loss.backward() -> set lrs -> sgd.step() -> muon.step() -> zero_grad(set_to_none)",
        loss="cross entropy, label_smoothing 0.09, reduction sum",
        whitening="init.whiten.weight from init_whitening_conv on step1..5 inputs (40 images), eps 5e-4",
        init=("3x3 conv weights uniform(+-1/sqrt(fan_in)) (not dirac); whitening bias and BatchNorm biases "
              "0.1*randn; head PyTorch default then divided by its std"),
    )
    return tensors, meta, tracker.smallest, cut_gap, argmax_gap


# ----------------------------------------------------------------------------------------------

def verify_export(path):
    """Loads a Swift-exported hiverge model into hiverge_net with strict key checking; compares the
    selective-TTA choice and predictions with the Swift engine's (MODEL.check.safetensors)."""
    state = load_file(path)
    with safe_open(path, "pt") as file:
        meta = file.metadata()
    widths = tuple(state[f"layers.{i}.conv1.weight"].shape[0] for i in (1, 2, 3))
    model = hiverge_net(widths, classes=state["head.weight"].shape[0])
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    print(f"{path}: method {meta.get('method')}, tta_select {meta.get('tta_select')}, widths {widths}; "
          f"missing keys {missing} (num_batches_tracked aside), unexpected keys {result.unexpected_keys}")
    assert not missing and not result.unexpected_keys
    check = load_file(path[:-len(".safetensors")] + ".check.safetensors")
    fraction = float(meta["tta_select"])
    plain, selected, merged, confidence = selective_tta(model, check["images"], fraction)
    predictions = merged.argmax(-1)
    cut_gap, argmax_gap = choice_gaps(confidence, len(selected), merged)
    same_choice = torch.equal(selected, check["selected"])
    same_predictions = torch.equal(predictions, check["predictions"])
    print(f"{len(check['images'])} images, {len(selected)} selected (PyTorch {selected.tolist()}, Swift "
          f"{check['selected'].tolist()}): same choice {same_choice}; predictions {predictions.tolist()}: same as "
          f"Swift {same_predictions}; largest logit difference {(merged - check['logits']).abs().max().item():.2e}; "
          f"gap at the cut {cut_gap:.2e}, smallest argmax gap {argmax_gap:.2e}")
    assert same_choice and same_predictions


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify-export", metavar="FILE", help="check a model exported by the Swift engine")
    arguments = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if arguments.verify_export:
        verify_export(arguments.verify_export)
        return
    seed, (tensors, meta, pool_gap, cut_gap, argmax_gap) = family.first_clean_seed(
        make_fixture, SEED, lambda r: r[2] > POOL_GAP and r[3] > CUT_GAP and r[4] > ARGMAX_GAP)
    print(f"seed {seed}: smallest pool gap {pool_gap:.2e}, cut gap {cut_gap:.2e}, argmax gap {argmax_gap:.2e}")
    path = base.save(tensors, meta, "hiverge.safetensors")
    print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    sys.exit(main())
