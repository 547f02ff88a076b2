#!/usr/bin/env python3
"""Generates the PyTorch reference fixtures of the airbench family (airbench96, airbench94_muon,
airbench96_faster's proxy selection) used by the Swift tests.

Writes, under Tests/AirbenchTests/Fixtures/:

* family_residual_before.safetensors -- the paper airbench96 ConvGroup (three convolutions, residual
  across the later two, activation before the add), widths 8/16/16, batch 8, BatchNorm momentum 0.6
  ("keep"), triangle schedule; 3 steps of a 20-step run.
* family_residual_after.safetensors -- the June-2024 airbench96 ConvGroup (activation after the add),
  PyTorch default BatchNorm momentum (0.1), weight decay 0.012, warm-up then linear-to-zero schedule;
  3 steps of a 20-step run.
* family_muon.safetensors -- airbench94_muon's CifarNet, Muon on the block convolutions (Newton-Schulz in
  float32) and SGD on the whitening bias, BatchNorm biases and head; 3 steps of a 10-step run whose
  whitening bias trains for 2 steps; plus Newton-Schulz alone on a wide and a tall matrix.
* family_proxy.safetensors -- one step of airbench96_faster's proxy: per-example losses, the mask of the
  highest half, the masked summed loss, gradients and the state after the SGD step.
* family_schedules.safetensors -- the schedules as the reference scripts compute them, at full scale.

Layout and conventions as make_fixtures.py: NCHW images, OIHW convolution weights, [out, in] linear
weights, float32 except labels and masks (int64); each file's __metadata__ says so. The networks and
optimizers are written out here from the family spec (spec/airbench-family.md), not imported from the
reference repository; make_fixtures.py's helpers (whitening, Conv with dirac reset, images, writer) are
reused. pytorch_peer.py imports the networks and Muon from here.

Usage:  /path/to/venv/bin/python scripts/make_family_fixtures.py
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as base  # noqa: E402
from make_fixtures import Conv, Flatten, Mul  # noqa: E402

GENERATOR = "scripts/make_family_fixtures.py"
SEED = 4321
NEAR_TIE = base.NEAR_TIE
LOSS_CUT_GAP = 1e-3


# ----------------------------------------------------------------------------------------------
# Networks of the family (spec sections 0, A, B, C), float32 on the CPU.

class BatchNorm(nn.BatchNorm2d):
    """BatchNorm of every airbench: eps 1e-12, weight frozen at 1, bias trainable.

    torch_momentum is PyTorch's momentum (the weight of the new batch statistic): 0.4 for airbench94/95/
    96-paper/muon ("keep" 0.6), 0.1 for the June-2024 airbench96 and airbench96_faster (PyTorch default;
    "keep" 0.9). Passed as is, not as 1 - keep: 1 - 0.9 is not the double 0.1.
    """

    def __init__(self, num_features, torch_momentum):
        super().__init__(num_features, eps=1e-12, momentum=torch_momentum)
        self.weight.requires_grad = False


class ConvGroup(nn.Module):
    """conv1 -> MaxPool2 -> norm1 -> GELU -> conv2 -> norm2 -> GELU, and for convs == 3 a third
    convolution with a residual across the later two:
      activation_after_add False (paper airbench96):   out = GELU(norm3(conv3 x)) + x0
      activation_after_add True  (June-2024 airbench96): out = GELU(norm3(conv3 x) + x0)
    where x0 is the output of the first GELU."""

    def __init__(self, channels_in, channels_out, torch_momentum, convs=2, activation_after_add=False):
        super().__init__()
        assert convs in (2, 3)
        self.convs = convs
        self.activation_after_add = activation_after_add
        self.conv1 = Conv(channels_in, channels_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(channels_out, torch_momentum)
        self.conv2 = Conv(channels_out, channels_out)
        self.norm2 = BatchNorm(channels_out, torch_momentum)
        if convs == 3:
            self.conv3 = Conv(channels_out, channels_out)
            self.norm3 = BatchNorm(channels_out, torch_momentum)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        if self.convs == 2:
            return self.activ(self.norm2(self.conv2(x)))
        x0 = x
        x = self.activ(self.norm2(self.conv2(x)))
        x = self.norm3(self.conv3(x))
        if self.activation_after_add:
            return self.activ(x + x0)
        return self.activ(x) + x0


def make_sequential_net(widths, torch_momentum, convs=2, activation_after_add=False, scaling_factor=1 / 9,
                        classes=10):
    """airbench94/95/96/96_2024/proxy: state_dict keys 0.* (whitening), 2./3./4.* (groups), 7.weight (head)."""
    whiten_width = 2 * 3 * 2**2
    net = nn.Sequential(
        Conv(3, whiten_width, 2, padding=0, bias=True),
        nn.GELU(),
        ConvGroup(whiten_width, widths[0], torch_momentum, convs, activation_after_add),
        ConvGroup(widths[0], widths[1], torch_momentum, convs, activation_after_add),
        ConvGroup(widths[1], widths[2], torch_momentum, convs, activation_after_add),
        nn.MaxPool2d(3),
        Flatten(),
        nn.Linear(widths[2], classes, bias=False),
        Mul(scaling_factor),
    )
    net[0].weight.requires_grad = False
    return net


class CifarNet(nn.Module):
    """airbench94_muon's network (spec B.2): keys whiten.*, layers.1/2/3.*, head.weight.

    The whitening conv is a plain Conv2d (its default-uniform bias is kept); the head is rescaled to unit
    standard deviation after its default init; the output is divided by the width of the last group."""

    def __init__(self, widths, torch_momentum=0.4, classes=10):
        super().__init__()
        whiten_width = 2 * 3 * 2**2
        self.whiten = nn.Conv2d(3, whiten_width, 2, padding=0, bias=True)
        self.whiten.weight.requires_grad = False
        self.layers = nn.Sequential(
            nn.GELU(),
            ConvGroup(whiten_width, widths[0], torch_momentum),
            ConvGroup(widths[0], widths[1], torch_momentum),
            ConvGroup(widths[1], widths[2], torch_momentum),
            nn.MaxPool2d(3),
        )
        self.head = nn.Linear(widths[2], classes, bias=False)
        with torch.no_grad():
            self.head.weight.mul_(1 / self.head.weight.std())

    def forward(self, x, whiten_bias_grad=True):
        b = self.whiten.bias
        x = F.conv2d(x, self.whiten.weight, b if whiten_bias_grad else b.detach())
        x = self.layers(x)
        x = x.view(len(x), -1)
        return self.head(x) / x.size(-1)


# ----------------------------------------------------------------------------------------------
# Muon (spec B.1).

def newton_schulz5(G, steps=3, eps=1e-7, dtype=torch.float32):
    """Quintic Newton-Schulz orthogonalisation. The reference runs it in bfloat16; dtype=torch.float32
    is what the fixture records."""
    assert G.ndim == 2
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.to(dtype)
    X = X / (X.norm() + eps)
    transposed = G.size(0) > G.size(1)
    if transposed:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    if transposed:
        X = X.T
    return X


class Muon(torch.optim.Optimizer):
    """buf = m*buf + g; g = g + m*buf (nesterov); p *= sqrt(rows)/||p||_F; p -= lr * NS5(g as rows x rest).
    No weight decay."""

    def __init__(self, params, lr, momentum, nesterov=True, ns_dtype=torch.float32):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov))
        self.ns_dtype = ns_dtype

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(g)
                g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
                p.mul_(len(p) ** 0.5 / p.norm())
                update = newton_schulz5(g.reshape(len(g), -1), dtype=self.ns_dtype).view(g.shape)
                p.add_(update.to(p.dtype), alpha=-lr)


# ----------------------------------------------------------------------------------------------
# Schedules (spec 0.3, A.3, B.1, C.1, 0.4).

def triangle_schedule(total_steps, start=0.2, end=0.07, peak=0.23):
    """Listing 4's triangle (float32 tensor arithmetic, as the script computes it), values 0..T."""
    return base.triangle(total_steps, start=start, end=end, peak=peak)


def warmup_linear_factor(step, total_steps, warmup_fraction=0.1):
    """June-2024 airbench96 / airbench96_faster: W = int(0.1 T); 0.2 -> 1 over W steps, then (T-k)/(T-W)."""
    warmup_steps = int(total_steps * warmup_fraction)
    if step < warmup_steps:
        frac = step / warmup_steps
        return 0.2 * (1 - frac) + 1.0 * frac
    return (total_steps - step) / (total_steps - warmup_steps)


def lookahead_decays(total_steps):
    """0.95^5 (t/T)^3 for t = 0..T, float32 as the scripts compute it."""
    return 0.95**5 * (torch.arange(total_steps + 1) / total_steps) ** 3


def kilostep_sgd(model, hyp, batch_size):
    """The decoupled-units SGD of spec 0.3: groups norm biases (lr*bias_scaler) and the other trainable
    parameters (lr), weight_decay = wd/lr_group, Nesterov. Returns the optimizer and the base lr."""
    momentum = hyp["momentum"]
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr = hyp["lr"] / kilostep_scale
    wd = hyp["weight_decay"] * batch_size / kilostep_scale
    lr_biases = lr * hyp["bias_scaler"]
    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    other_params = [p for k, p in model.named_parameters() if "norm" not in k and p.requires_grad]
    optimizer = torch.optim.SGD([dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                                 dict(params=other_params, lr=lr, weight_decay=wd / lr)],
                                momentum=momentum, nesterov=True)
    return optimizer, lr


def muon_optimizers(model, batch_size, bias_lr=0.053, head_lr=0.67, wd_per_example=2e-6, muon_lr=0.24,
                    muon_momentum=0.6, sgd_momentum=0.85, ns_dtype=torch.float32):
    """airbench94_muon's optimizers (spec B.1). SGD groups in the order whiten_bias, norm_biases, head."""
    wd = wd_per_example * batch_size
    filter_params = [p for p in model.parameters() if p.ndim == 4 and p.requires_grad]
    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    sgd = torch.optim.SGD([dict(params=[model.whiten.bias], lr=bias_lr, weight_decay=wd / bias_lr),
                           dict(params=norm_biases, lr=bias_lr, weight_decay=wd / bias_lr),
                           dict(params=[model.head.weight], lr=head_lr, weight_decay=wd / head_lr)],
                          momentum=sgd_momentum, nesterov=True)
    muon = Muon(filter_params, lr=muon_lr, momentum=muon_momentum, nesterov=True, ns_dtype=ns_dtype)
    for optimizer in (sgd, muon):
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    return sgd, muon


def set_muon_lrs(sgd, muon, step, total_steps, whiten_bias_steps):
    """Before each step (0-based): whitening bias 0.053 (1 - s/Tw); the others and Muon initial (1 - s/T)."""
    for group in sgd.param_groups[:1]:
        group["lr"] = group["initial_lr"] * (1 - step / whiten_bias_steps)
    for group in sgd.param_groups[1:] + muon.param_groups:
        group["lr"] = group["initial_lr"] * (1 - step / total_steps)


# ----------------------------------------------------------------------------------------------
# Fixture helpers.

def recorded_step(model, tensors, k, label_smoothing, trainable, whiten_bias_grad):
    """Step k's forward and backward of the summed label-smoothed loss on the fixture's `step{k}` batch (a CifarNet
    with a detachable whitening bias), recorded as `make_fixtures.backward_and_record` records every fixture's step."""
    outputs = model(tensors[f"step{k}.input"], whiten_bias_grad=whiten_bias_grad)
    loss = F.cross_entropy(outputs, tensors[f"step{k}.labels"], label_smoothing=label_smoothing, reduction="sum")
    base.backward_and_record(model, tensors, k, outputs, loss, trainable)


def scalar(value):
    return torch.tensor([value], dtype=torch.float32)


def metadata(description, seed, **extra):
    layout = base.LAYOUT_NOTE.replace("labels (int64)", "labels and masks (int64)")
    return dict(description=description, layout=layout, generator=GENERATOR, torch_version=torch.__version__,
                seed=str(seed), **extra)


def randomize_init(model, generator, whiten, convs):
    """As make_fixtures: random uniform 3x3 conv weights instead of dirac, small random whitening bias and
    BatchNorm biases, so the tests exercise every term."""
    with torch.no_grad():
        for module in convs:
            bound = 1 / module.weight[0].numel() ** 0.5
            module.weight.uniform_(-bound, bound, generator=generator)
        whiten.bias.copy_(0.1 * torch.randn(whiten.bias.shape, generator=generator))
        for module in model.modules():
            if isinstance(module, BatchNorm):
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))


def block_convs(model):
    return [m for n, m in model.named_modules() if isinstance(m, Conv) and n != "0"]


def make_inputs(generator, count):
    images = base.make_images(generator, count)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return images, labels


# ----------------------------------------------------------------------------------------------
# Files 1 and 2: the residual ConvGroups.

RESIDUAL_WIDTHS = (8, 16, 16)
RESIDUAL_BATCH = 8
RESIDUAL_STEPS = 3
RESIDUAL_TOTAL_STEPS = 20

RESIDUAL_VARIANTS = {
    "before": dict(activation_after_add=False, torch_momentum=0.4, keep=0.6, lr=9.0, weight_decay=0.0153,
                   schedule="triangle",
                   description="paper airbench96 ConvGroup (3 convs, out = GELU(norm3(conv3 x)) + x0)"),
    "after": dict(activation_after_add=True, torch_momentum=0.1, keep=0.9, lr=9.0, weight_decay=0.012,
                  schedule="warmup_linear",
                  description="June-2024 airbench96 ConvGroup (3 convs, out = GELU(norm3(conv3 x) + x0))"),
}


def make_residual_fixture(variant, seed):
    v = RESIDUAL_VARIANTS[variant]
    hyp = dict(lr=v["lr"], momentum=0.85, weight_decay=v["weight_decay"], bias_scaler=64.0, label_smoothing=0.2)
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    images, labels = make_inputs(generator, RESIDUAL_BATCH * RESIDUAL_STEPS)
    for k in range(1, RESIDUAL_STEPS + 1):
        tensors[f"step{k}.input"] = images[(k - 1) * RESIDUAL_BATCH:k * RESIDUAL_BATCH]
        tensors[f"step{k}.labels"] = labels[(k - 1) * RESIDUAL_BATCH:k * RESIDUAL_BATCH]

    torch.manual_seed(seed)
    model = make_sequential_net(RESIDUAL_WIDTHS, v["torch_momentum"], convs=3,
                                activation_after_add=v["activation_after_add"])
    tracker = base.PoolGapTracker(model)
    base.init_whitening_conv(model[0], images)
    randomize_init(model, generator, model[0], block_convs(model))
    for key, value in base.float_state(model).items():
        tensors[f"init.{key}"] = value

    optimizer, lr = kilostep_sgd(model, hyp, RESIDUAL_BATCH)
    if v["schedule"] == "triangle":
        schedule = triangle_schedule(RESIDUAL_TOTAL_STEPS, start=0.2, end=0.07, peak=0.23)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: schedule[i])
        expected = [schedule[i].item() for i in range(RESIDUAL_STEPS)]
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda i: warmup_linear_factor(i, RESIDUAL_TOTAL_STEPS))
        expected = [warmup_linear_factor(i, RESIDUAL_TOTAL_STEPS) for i in range(RESIDUAL_STEPS)]
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hyp["label_smoothing"], reduction="none")
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    assert "0.bias" in trainable and "0.weight" not in trainable

    applied = []
    model.train()
    for k in range(1, RESIDUAL_STEPS + 1):
        applied.append(float(optimizer.param_groups[1]["lr"]) / lr)
        bias_factor = float(optimizer.param_groups[0]["lr"]) / (lr * hyp["bias_scaler"])
        assert abs(bias_factor - applied[-1]) <= 1e-6 * applied[-1]
        outputs = model(tensors[f"step{k}.input"])
        loss = loss_fn(outputs, tensors[f"step{k}.labels"]).sum()
        optimizer.zero_grad(set_to_none=True)
        base.backward_and_record(model, tensors, k, outputs, loss, trainable)
        optimizer.step()
        scheduler.step()
    for key, value in base.float_state(model).items():
        tensors[f"final.state.{key}"] = value
    assert all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(applied, expected)), (applied, expected)

    tensors["config.widths"] = torch.tensor(RESIDUAL_WIDTHS, dtype=torch.float32)
    tensors["config.convs"] = scalar(3)
    tensors["config.activation_after_add"] = scalar(1 if v["activation_after_add"] else 0)
    for name in ("lr", "momentum", "weight_decay", "bias_scaler", "label_smoothing"):
        tensors[f"hyp.{name}"] = scalar(hyp[name])
    tensors["hyp.batch_size"] = scalar(RESIDUAL_BATCH)
    tensors["hyp.batchnorm_momentum"] = scalar(v["keep"])
    tensors["hyp.scaling_factor"] = scalar(1 / 9)
    tensors["hyp.schedule"] = torch.tensor(applied, dtype=torch.float32)

    schedule_note = ("triangle(T=20, start 0.2, peak 0.23, end 0.07) of Listing 4 (xp = [0, int(0.23 T), T])"
                     if v["schedule"] == "triangle" else
                     "W = int(0.1 T) = 2; k < W: 0.2 (1 - k/W) + k/W; else (T - k)/(T - W); T = 20")
    meta = metadata(
        f"{v['description']}, float32 CPU: widths 8/16/16, batch 8, 3 SGD steps of a 20-step run; "
        f"no Lookahead; whitening bias trainable", seed,
        schedule=schedule_note,
        schedule_total_steps=str(RESIDUAL_TOTAL_STEPS),
        batchnorm=(f"eps 1e-12, weight frozen at 1, bias trainable, PyTorch momentum {v['torch_momentum']} "
                   f"(hyp.batchnorm_momentum = keep = {v['keep']}: running = keep*running + (1-keep)*batch), "
                   "running variance unbiased"),
        lr_formula=("kilostep_scale = 1024*(1+1/(1-momentum)); lr = hyp.lr/kilostep_scale; "
                    "wd = hyp.weight_decay*hyp.batch_size/kilostep_scale; lr_biases = lr*hyp.bias_scaler; "
                    "SGD nesterov, groups norm biases (lr_biases, weight_decay=wd/lr_biases) and others incl. "
                    "the whitening bias (lr, weight_decay=wd/lr); step k uses both lrs times hyp.schedule[k-1]"),
        loss="cross entropy, label_smoothing 0.2, reduction sum",
        whitening="init.0.weight from init_whitening_conv on step1..3 inputs (24 images), eps 5e-4",
        init=("3x3 conv weights uniform(+-1/sqrt(fan_in)) (not dirac); whitening bias and BatchNorm biases "
              "0.1*randn; head PyTorch default"),
    )
    return tensors, meta, tracker.smallest


# ----------------------------------------------------------------------------------------------
# File 3: airbench94_muon.

MUON_WIDTHS = (8, 16, 16)
MUON_BATCH = 8
MUON_STEPS = 3
MUON_TOTAL_STEPS = 10
MUON_WHITEN_BIAS_STEPS = 2
MUON_HYP = dict(muon_lr=0.24, muon_momentum=0.6, bias_lr=0.053, head_lr=0.67, wd_per_example=2e-6,
                momentum=0.85, label_smoothing=0.2)


def make_muon_fixture(seed):
    h = MUON_HYP
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    images, labels = make_inputs(generator, MUON_BATCH * MUON_STEPS)
    for k in range(1, MUON_STEPS + 1):
        tensors[f"step{k}.input"] = images[(k - 1) * MUON_BATCH:k * MUON_BATCH]
        tensors[f"step{k}.labels"] = labels[(k - 1) * MUON_BATCH:k * MUON_BATCH]

    torch.manual_seed(seed)
    model = CifarNet(MUON_WIDTHS, torch_momentum=0.4)
    tracker = base.PoolGapTracker(model)
    base.init_whitening_conv(model.whiten, images)
    randomize_init(model, generator, model.whiten, [m for m in model.modules() if isinstance(m, Conv)])
    for key, value in base.float_state(model).items():
        tensors[f"init.{key}"] = value

    sgd, muon = muon_optimizers(model, MUON_BATCH, bias_lr=h["bias_lr"], head_lr=h["head_lr"],
                                wd_per_example=h["wd_per_example"], muon_lr=h["muon_lr"],
                                muon_momentum=h["muon_momentum"], sgd_momentum=h["momentum"])
    assert len(muon.param_groups[0]["params"]) == 6
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    group_names = ["whiten_bias", "norm_biases", "head"]

    schedule = []
    model.train()
    for s in range(MUON_STEPS):
        k = s + 1
        recorded_step(model, tensors, k, h["label_smoothing"], trainable, whiten_bias_grad=s < MUON_WHITEN_BIAS_STEPS)
        if s == MUON_WHITEN_BIAS_STEPS:
            assert model.whiten.bias.grad is None
            frozen_bias = model.whiten.bias.detach().clone()
        set_muon_lrs(sgd, muon, s, MUON_TOTAL_STEPS, MUON_WHITEN_BIAS_STEPS)
        for name, group in zip(group_names, sgd.param_groups):
            tensors[f"step{k}.lr.{name}"] = scalar(group["lr"])
        tensors[f"step{k}.lr.muon"] = scalar(muon.param_groups[0]["lr"])
        schedule.append(muon.param_groups[0]["lr"] / muon.param_groups[0]["initial_lr"])
        sgd.step()
        muon.step()
        model.zero_grad(set_to_none=True)
    for key, value in base.float_state(model).items():
        tensors[f"final.state.{key}"] = value
    # The whitening bias is detached from step MUON_WHITEN_BIAS_STEPS on: no update, no decay.
    assert torch.equal(model.whiten.bias.detach(), frozen_bias)
    assert all(abs(a - (1 - s / MUON_TOTAL_STEPS)) < 1e-12 for s, a in enumerate(schedule))

    ns_generator = torch.Generator().manual_seed(seed + 7)
    for name, shape in (("wide", (16, 72)), ("tall", (40, 12))):
        g = torch.randn(*shape, generator=ns_generator)
        tensors[f"ns.{name}.input"] = g
        tensors[f"ns.{name}.output"] = newton_schulz5(g, dtype=torch.float32)

    tensors["config.widths"] = torch.tensor(MUON_WIDTHS, dtype=torch.float32)
    tensors["config.convs"] = scalar(2)
    tensors["config.activation_after_add"] = scalar(0)
    for name in ("muon_lr", "muon_momentum", "bias_lr", "head_lr", "wd_per_example", "momentum", "label_smoothing"):
        tensors[f"hyp.{name}"] = scalar(h[name])
    tensors["hyp.batch_size"] = scalar(MUON_BATCH)
    tensors["hyp.batchnorm_momentum"] = scalar(0.6)
    tensors["hyp.scaling_factor"] = scalar(1 / MUON_WIDTHS[2])
    tensors["hyp.total_steps"] = scalar(MUON_TOTAL_STEPS)
    tensors["hyp.whiten_bias_steps"] = scalar(MUON_WHITEN_BIAS_STEPS)
    tensors["hyp.schedule"] = torch.tensor(schedule, dtype=torch.float32)

    meta = metadata(
        "airbench94_muon (CifarNet, Muon + SGD), float32 CPU: widths 8/16/16, batch 8, 3 steps of a 10-step run "
        "whose whitening bias trains for 2 steps (at step 3 it is detached: no grad, no update, no decay); "
        "Newton-Schulz alone on a 16x72 and a 40x12 matrix", seed,
        network=("forward = conv2d(x, whiten.weight, whiten.bias) -> GELU -> layers.1..3 (conv1, MaxPool2, norm1, "
                 "GELU, conv2, norm2, GELU) -> MaxPool2d(3) -> flatten -> head -> / 16 (width of the last group)"),
        batchnorm=("eps 1e-12, weight frozen at 1, bias trainable, PyTorch momentum 0.4 (keep 0.6), running "
                   "variance unbiased"),
        muon=("params: the 6 layers.*.conv*.weight (requires_grad, ndim 4; not whiten.weight). Per step: "
              "buf = m*buf + g (buf starts at 0); g = g + m*buf; p *= sqrt(p.shape[0])/||p||_F; "
              "p -= lr * NS5(g.reshape(out, -1)).view(g.shape); no weight decay; m = hyp.muon_momentum"),
        newton_schulz=("float32 throughout (the reference uses bfloat16): X = G/(||G||_F + 1e-7); transpose if "
                       "rows > cols; 3 times: A = X X^T, B = b A + c A A, X = a X + B X; transpose back; "
                       "(a, b, c) = (3.4445, -4.7750, 2.0315)"),
        sgd=("torch SGD momentum hyp.momentum nesterov; groups whiten_bias (lr hyp.bias_lr), norm_biases "
             "(hyp.bias_lr), head (hyp.head_lr); each weight_decay = hyp.wd_per_example*hyp.batch_size/lr_group "
             "with its initial lr"),
        schedule=("set before 0-based step s, after backward: "
                  "whiten_bias lr = hyp.bias_lr*(1 - s/hyp.whiten_bias_steps); "
                  "norm_biases, head and muon lr = initial*(1 - s/hyp.total_steps); step{k}.lr.* are the lrs used "
                  "at step k (read back); hyp.schedule = muon lr / initial lr"),
        step_order="forward -> loss.backward() -> set lrs -> sgd.step() -> muon.step() -> zero_grad(set_to_none)",
        loss="cross entropy, label_smoothing 0.2, reduction sum",
        whitening="init.whiten.weight from init_whitening_conv on step1..3 inputs (24 images), eps 5e-4",
        init=("3x3 conv weights uniform(+-1/sqrt(fan_in)) (not dirac); whitening bias and BatchNorm biases "
              "0.1*randn; head PyTorch default then divided by its std"),
    )
    return tensors, meta, tracker.smallest


# ----------------------------------------------------------------------------------------------
# File 4: airbench96_faster's proxy selection (spec C.3).

PROXY_WIDTHS = (8, 16, 16)
PROXY_BATCH = 16
PROXY_KEEP = 8
PROXY_HYP = dict(lr=9.0, momentum=0.85, weight_decay=0.012, bias_scaler=64.0, label_smoothing=0.2)


def make_proxy_fixture(seed):
    hyp = PROXY_HYP
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    images, labels = make_inputs(generator, PROXY_BATCH)
    tensors["proxy.input"], tensors["proxy.labels"] = images, labels

    torch.manual_seed(seed)
    model = make_sequential_net(PROXY_WIDTHS, torch_momentum=0.1, convs=2)
    model[0].bias.requires_grad = False
    tracker = base.PoolGapTracker(model)
    base.init_whitening_conv(model[0], images)
    randomize_init(model, generator, model[0], block_convs(model))
    for key, value in base.float_state(model).items():
        tensors[f"proxy.init.{key}"] = value

    optimizer, lr = kilostep_sgd(model, hyp, PROXY_BATCH)
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    assert "0.bias" not in trainable
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hyp["label_smoothing"], reduction="none")
    model.train()
    outputs = model(images)
    losses = loss_fn(outputs, labels)
    mask = torch.zeros(PROXY_BATCH, dtype=torch.int64)
    mask[losses.argsort()[-PROXY_KEEP:]] = 1
    loss = (losses * mask.float()).sum()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    ordered = losses.detach().sort(descending=True).values
    cut_gap = ((ordered[PROXY_KEEP - 1] - ordered[PROXY_KEEP]) / ordered[PROXY_KEEP - 1]).item()
    tensors["proxy.logits"] = outputs.detach().clone()
    tensors["proxy.losses"] = losses.detach().clone()
    tensors["proxy.mask"] = mask
    tensors["proxy.loss"] = loss.detach().reshape(1)
    parameters = dict(model.named_parameters())
    for name in trainable:
        tensors[f"proxy.grad.{name}"] = parameters[name].grad.detach().clone()
    optimizer.step()
    for key, value in base.float_state(model).items():
        tensors[f"proxy.state.{key}"] = value

    tensors["config.widths"] = torch.tensor(PROXY_WIDTHS, dtype=torch.float32)
    tensors["config.convs"] = scalar(2)
    tensors["config.activation_after_add"] = scalar(0)
    for name in ("lr", "momentum", "weight_decay", "bias_scaler", "label_smoothing"):
        tensors[f"hyp.{name}"] = scalar(hyp[name])
    tensors["hyp.batch_size"] = scalar(PROXY_BATCH)
    tensors["hyp.batch_size_masked"] = scalar(PROXY_KEEP)
    tensors["hyp.batchnorm_momentum"] = scalar(0.9)
    tensors["hyp.scaling_factor"] = scalar(1 / 9)
    tensors["hyp.schedule"] = scalar(float(optimizer.param_groups[1]["lr"]) / lr)

    meta = metadata(
        "airbench96_faster proxy selection, one step, float32 CPU: sequential 2-conv net (airbench94 groups) "
        "widths 8/16/16, batch 16 of which the 8 highest-loss examples are trained on; whitening bias frozen", seed,
        selection=("train-mode forward of all 16 (BatchNorm running stats updated over all 16); proxy.losses = "
                   "per-example cross entropy (label_smoothing 0.2); proxy.mask = 1 at losses.argsort()[-8:]; "
                   "proxy.loss = sum(losses*mask); backward; SGD step"),
        cut_gap=f"relative gap between the 8th and 9th largest loss: {cut_gap:.3e}",
        batchnorm=("eps 1e-12, weight frozen at 1, bias trainable, PyTorch momentum 0.1 (keep 0.9 = "
                   "hyp.batchnorm_momentum), running variance unbiased"),
        lr_formula=("kilostep_scale = 1024*(1+1/(1-momentum)); lr = hyp.lr/kilostep_scale; "
                    "wd = hyp.weight_decay*hyp.batch_size/kilostep_scale (batch_size 16, not the 8 kept); "
                    "lr_biases = lr*hyp.bias_scaler; SGD nesterov, groups norm biases (lr_biases, "
                    "weight_decay=wd/lr_biases) and the conv and head weights (lr, weight_decay=wd/lr); schedule "
                    "factor hyp.schedule = 1; the whitening bias (requires_grad False) is in no group"),
        whitening="proxy.init.0.weight from init_whitening_conv on proxy.input (16 images), eps 5e-4",
        init=("3x3 conv weights uniform(+-1/sqrt(fan_in)) (not dirac); whitening bias (frozen) and BatchNorm "
              "biases 0.1*randn; head PyTorch default"),
    )
    return tensors, meta, tracker.smallest, cut_gap


# ----------------------------------------------------------------------------------------------
# File 5: schedules at full scale.

def make_schedules_fixture():
    tensors = {
        "triangle": triangle_schedule(476, start=0.2, end=0.07, peak=0.23),
        "warmup_linear": torch.tensor([warmup_linear_factor(k, 1776) for k in range(1777)],
                                      dtype=torch.float64),
        "faster": torch.tensor([warmup_linear_factor(k, 2160) for k in range(2161)], dtype=torch.float64),
        "muon_main": torch.tensor([1 - s / 200 for s in range(200)], dtype=torch.float64),
        "muon_whiten_bias": torch.tensor([1 - s / 75 for s in range(75)], dtype=torch.float64),
        "lookahead_decay": lookahead_decays(476),
    }
    tensors = {k: v.to(torch.float32) for k, v in tensors.items()}
    assert tensors["triangle"][109].item() == 1.0 and abs(tensors["triangle"][476].item() - 0.07) < 1e-6
    assert tensors["warmup_linear"][177].item() == 1.0 and tensors["warmup_linear"][1776].item() == 0.0
    assert tensors["faster"][216].item() == 1.0 and tensors["faster"][2160].item() == 0.0
    meta = metadata(
        "reference schedules at full scale, as the scripts compute them; stored float32", "none",
        triangle=("airbench94 Listing 4 triangle(T=476, start 0.2, end 0.07, peak 0.23), steps 0..T; computed in "
                  "float32 tensor arithmetic as the script does (xp = [0, int(0.23 T) = 109, T])"),
        warmup_linear=("June-2024 airbench96 get_lr, T = 1776, steps 0..T: W = int(0.1 T) = 177; k < W: "
                       "0.2 (1 - k/W) + k/W; else (T - k)/(T - W); computed in float64, stored float32"),
        faster="airbench96_faster, the same rule for T = 2160 (W = 216), steps 0..T; float64, stored float32",
        muon_main="airbench94_muon 1 - s/T for T = 200, s = 0..199; float64, stored float32",
        muon_whiten_bias="airbench94_muon whitening bias 1 - s/75, s = 0..74; float64, stored float32",
        lookahead_decay=("0.95^5 (t/T)^3 for T = 476, t = 0..T; float32 as the script computes it "
                         "(torch.arange(T+1)/T, cubed, times 0.95**5)"),
    )
    return tensors, meta


# ----------------------------------------------------------------------------------------------

def first_clean_seed(make, start, accept):
    for seed in range(start, start + 200):
        result = make(seed)
        if accept(result):
            return seed, result
        print(f"seed {seed}: rejected (near-tie)")
    raise RuntimeError("no seed without near-ties")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(base.FIXTURE_DIR, exist_ok=True)
    written = []

    for offset, variant in enumerate(("before", "after")):
        seed, (tensors, meta, gap) = first_clean_seed(
            lambda s: make_residual_fixture(variant, s), SEED + 100 * offset, lambda r: r[2] > NEAR_TIE)
        written.append(base.save(tensors, meta, f"family_residual_{variant}.safetensors"))

    seed, (tensors, meta, gap) = first_clean_seed(make_muon_fixture, SEED + 200, lambda r: r[2] > NEAR_TIE)
    written.append(base.save(tensors, meta, "family_muon.safetensors"))

    seed, (tensors, meta, gap, cut_gap) = first_clean_seed(
        make_proxy_fixture, SEED + 300, lambda r: r[2] > NEAR_TIE and r[3] > LOSS_CUT_GAP)
    assert cut_gap > LOSS_CUT_GAP
    print(f"proxy: seed {seed}, loss gap across the cut {cut_gap:.3e}, smallest pool gap {gap:.2e}")
    written.append(base.save(tensors, meta, "family_proxy.safetensors"))

    written.append(base.save(*make_schedules_fixture(), "family_schedules.safetensors"))
    for path in written:
        print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    sys.exit(main())
