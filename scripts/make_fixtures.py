#!/usr/bin/env python3
"""Generates the PyTorch reference fixtures used by the Swift tests.

Writes, under Tests/AirbenchTests/Fixtures/:

* airbench94_small.safetensors -- a tiny airbench94 network (widths 16/32/32, batch 8, 32x32
  images): whitening initialisation, the first training step (logits, loss, gradients, state),
  four more steps, one Lookahead update, and test-time-augmented evaluation.
* airbench94_small_bf16.safetensors -- the bf16 path's reference: the first step of that run (same
  seed, initialisation and inputs) and two single convolutions, with every operand of every
  convolution pass (input and weights forward; dOut and weights for the input gradient; input and
  dOut for the weight gradient) rounded to bfloat16 (nearest even), products and sums in float32,
  as the Swift bf16 path computes them. Everything else float32.
* layers.safetensors -- single layers (GELU, label-smoothed cross entropy, BatchNorm, max pooling,
  convolutions, linear) forward and backward at small realistic shapes.

Layout: every image tensor is in PyTorch's NCHW layout (batch, channel, height, width) and every
convolution weight is OIHW (out channels, in channels, kernel height, kernel width); linear weights
are [out, in]. Everything is float32 except labels, which are int64. The same note is stored in
each file's __metadata__.

The network and optimizer are written out here from Listing 4 (airbench94.py) of the airbench
paper, not imported, and run in float32 on the CPU with deterministic algorithms. The differences
from Listing 4, all deliberate, are listed in scripts/README.md.

Usage:  /path/to/venv/bin/python scripts/make_fixtures.py [--verify-rewrite FILE]

--verify-rewrite FILE checks that FILE (airbench94_small.safetensors re-written by the Swift
writer) loads with safetensors.torch.load_file and holds exactly the fixture's tensors.
"""

import argparse
import json
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

LAYOUT_NOTE = ("Image tensors are NCHW (batch, channel, height, width); convolution weights are "
               "OIHW (out, in, kernel height, kernel width); linear weights are [out, in]. "
               "float32 except labels (int64).")
FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "AirbenchTests",
                           "Fixtures")
SEED = 1234

CIFAR_MEAN = torch.tensor((0.4914, 0.4822, 0.4465))
CIFAR_STD = torch.tensor((0.2470, 0.2435, 0.2616))

# Hyperparameters of Listing 4 (hyp['opt'] and hyp['net']), except the batch size and widths,
# which are shrunk so the fixture stays small.
HYP = {
    "lr": 11.5,
    "momentum": 0.85,
    "weight_decay": 0.0153,
    "bias_scaler": 64.0,
    "label_smoothing": 0.2,
    "batchnorm_momentum": 0.6,
    "scaling_factor": 1 / 9,
}
WIDTHS = (16, 32, 32)
BATCH_SIZE = 8
STEPS = 5
# The schedules are those of a run of this many steps, of which only the first STEPS are taken,
# so that the learning-rate factors and the Lookahead decay are not trivial.
SCHEDULE_TOTAL_STEPS = 20


# ----------------------------------------------------------------------------------------------
# Network (Listing 4, "Network Components" and "Network Definition"), float32 on the CPU.

class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Mul(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x * self.scale


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, num_features, momentum, eps=1e-12, weight=False, bias=True):
        # PyTorch's momentum is the weight of the new batch statistic, hence 1 - momentum.
        super().__init__(num_features, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad = weight
        self.bias.requires_grad = bias


def round_bf16(t):
    """Rounds float32 to the nearest bfloat16 (ties to even), kept as float32."""
    return t.to(torch.bfloat16).to(torch.float32)


class BF16OperandConv(torch.autograd.Function):
    """conv2d whose operands are rounded to bfloat16 in each of its three passes, computed in float32:
    what the Swift bf16 path (vdpbf16ps: exact bf16 products, float32 sums) computes."""

    @staticmethod
    def forward(ctx, x, w, padding):
        x, w = round_bf16(x), round_bf16(w)
        ctx.save_for_backward(x, w)
        ctx.padding = padding
        return F.conv2d(x, w, padding=padding)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dy = round_bf16(dy)
        dx = torch.nn.grad.conv2d_input(x.shape, w, dy, padding=ctx.padding)
        dw = torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=ctx.padding)
        return dx, dw, None


class Conv(nn.Conv2d):
    # Set by make_network_fixture(bf16=True): convolutions with bf16-rounded operands.
    bf16_operands = False

    def __init__(self, in_channels, out_channels, kernel_size=3, padding="same", bias=False):
        super().__init__(in_channels, out_channels, kernel_size=kernel_size, padding=padding, bias=bias)

    def forward(self, x):
        if not Conv.bf16_operands:
            return super().forward(x)
        padding = (self.kernel_size[0] - 1) // 2 if self.padding == "same" else self.padding[0]
        y = BF16OperandConv.apply(x, self.weight, padding)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)

    def reset_parameters(self):
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        w = self.weight.data
        torch.nn.init.dirac_(w[:w.size(1)])


class ConvGroup(nn.Module):
    def __init__(self, channels_in, channels_out, batchnorm_momentum):
        super().__init__()
        self.conv1 = Conv(channels_in, channels_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(channels_out, batchnorm_momentum)
        self.conv2 = Conv(channels_out, channels_out)
        self.norm2 = BatchNorm(channels_out, batchnorm_momentum)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool(x)
        x = self.norm1(x)
        x = self.activ(x)
        x = self.conv2(x)
        x = self.norm2(x)
        x = self.activ(x)
        return x


def make_net(widths, batchnorm_momentum=HYP["batchnorm_momentum"]):
    whiten_kernel_size = 2
    whiten_width = 2 * 3 * whiten_kernel_size**2
    net = nn.Sequential(
        Conv(3, whiten_width, whiten_kernel_size, padding=0, bias=True),
        nn.GELU(),
        ConvGroup(whiten_width, widths[0], batchnorm_momentum),
        ConvGroup(widths[0], widths[1], batchnorm_momentum),
        ConvGroup(widths[1], widths[2], batchnorm_momentum),
        nn.MaxPool2d(3),
        Flatten(),
        nn.Linear(widths[2], 10, bias=False),
        Mul(HYP["scaling_factor"]),
    )
    net[0].weight.requires_grad = False
    # Listing 4 converts to half precision, CUDA and channels_last here; the fixture stays float32.
    return net


# ----------------------------------------------------------------------------------------------
# Whitening (Listing 4, "Whitening Conv Initialization").

def get_patches(x, patch_shape):
    c, (h, w) = x.shape[1], patch_shape
    return x.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c, h, w).float()


def patch_covariance(patches):
    n, c, h, w = patches.shape
    patches_flat = patches.view(n, -1)
    return (patches_flat.T @ patches_flat) / n


def get_whitening_parameters(patches):
    n, c, h, w = patches.shape
    est_patch_covariance = patch_covariance(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(est_patch_covariance, UPLO="U")
    return eigenvalues.flip(0).view(-1, 1, 1, 1), eigenvectors.T.reshape(c * h * w, c, h, w).flip(0)


def init_whitening_conv(layer, train_set, eps=5e-4):
    patches = get_patches(train_set, patch_shape=layer.weight.data.shape[2:])
    eigenvalues, eigenvectors = get_whitening_parameters(patches)
    eigenvectors_scaled = eigenvectors / torch.sqrt(eigenvalues + eps)
    layer.weight.data[:] = torch.cat((eigenvectors_scaled, -eigenvectors_scaled))
    return eigenvalues.flatten(), patch_covariance(patches)


# ----------------------------------------------------------------------------------------------
# Lookahead, schedule and inference (Listing 4).

class LookaheadState:
    def __init__(self, net):
        self.net_ema = {k: v.clone() for k, v in net.state_dict().items()}

    def update(self, net, decay):
        for ema_param, net_param in zip(self.net_ema.values(), net.state_dict().values()):
            if net_param.dtype in (torch.half, torch.float):
                ema_param.lerp_(net_param, 1 - decay)
                net_param.copy_(ema_param)


def triangle(steps, start=0, end=0, peak=0.5):
    xp = torch.tensor([0, int(peak * steps), steps])
    fp = torch.tensor([start, 1, end])
    x = torch.arange(1 + steps)
    m = (fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1])
    b = fp[:-1] - (m * xp[:-1])
    indices = torch.sum(torch.ge(x[:, None], xp[None, :]), 1) - 1
    indices = torch.clamp(indices, 0, len(m) - 1)
    return m[indices] * x + b[indices]


def infer(model, inputs, tta_level, mirror=True):
    # mirror=False (our choice for SVHN, whose mirrored digits are not digits): the mirrored views are left out.
    def infer_basic(inputs, net):
        return net(inputs).clone()

    def infer_mirror(inputs, net):
        return 0.5 * net(inputs) + 0.5 * net(inputs.flip(-1)) if mirror else net(inputs)

    def infer_mirror_translate(inputs, net):
        logits = infer_mirror(inputs, net)
        pad = 1
        padded_inputs = F.pad(inputs, (pad,) * 4, "reflect")
        inputs_translate_list = [
            padded_inputs[:, :, 0:32, 0:32],
            padded_inputs[:, :, 2:34, 2:34],
        ]
        logits_translate_list = [infer_mirror(inputs_translate, net) for inputs_translate in inputs_translate_list]
        logits_translate = torch.stack(logits_translate_list).mean(0)
        return 0.5 * logits + 0.5 * logits_translate

    model.eval()
    infer_fn = [infer_basic, infer_mirror, infer_mirror_translate][tta_level]
    with torch.no_grad():
        return infer_fn(inputs, model)


# ----------------------------------------------------------------------------------------------
# Fixture: the small network.

def make_images(generator, count):
    """Random uint8 RGB images with some spatial structure (a smooth colour field plus noise), so
    the patch covariance has a realistic spread of eigenvalues, normalised as CifarLoader does."""
    coarse = torch.rand(count, 3, 4, 4, generator=generator)
    smooth = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    noise = 0.05 * torch.randn(count, 3, 32, 32, generator=generator)
    # Kept away from 0 and 255: saturated regions give identical patches, hence exact max-pool ties.
    images_uint8 = ((0.2 + 0.6 * smooth + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    images = images_uint8.float() / 255
    return (images - CIFAR_MEAN.view(1, 3, 1, 1)) / CIFAR_STD.view(1, 3, 1, 1)


def float_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype == torch.float}


# Smallest gap between the largest and second-largest value of any max-pool window seen by the
# network fixture, relative to the window's largest magnitude. GELU has a minimum near -0.17, so
# different inputs can map to (nearly) equal outputs; a 1-ulp difference between two correct GELU
# implementations then flips which element a pool window picks. The fixture is drawn so that no
# window is that close (see NEAR_TIE below): its gradients then test the method, not tie-breaking.
NEAR_TIE = 2e-6


class PoolGapTracker:
    """Smallest relative gap between the two largest values of any max-pool window of `model` (see NEAR_TIE)."""

    def __init__(self, model):
        self.smallest = float("inf")
        for module in model.modules():
            if isinstance(module, nn.MaxPool2d):
                module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        x = inputs[0].detach()
        k = module.kernel_size
        n, c, h, w = x.shape
        x = x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k)
        windows = x.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)
        top2 = windows.topk(2, dim=-1).values
        gap = (top2[..., 0] - top2[..., 1]) / top2[..., 0].abs().clamp_min(1e-30)
        self.smallest = min(self.smallest, gap.min().item())


def backward_and_record(model, tensors, k, outputs, loss, trainable):
    """Step k's backward pass (gradients accumulate: zero them before); records the loss as `step{k}.loss`, and at
    step 1 the logits and the gradients of the parameters named in `trainable`. Every fixture's step loop."""
    loss.backward()
    tensors[f"step{k}.loss"] = loss.detach().reshape(1)
    if k == 1:
        tensors["step1.logits"] = outputs.detach().clone()
        parameters = dict(model.named_parameters())
        for name in trainable:
            tensors[f"step1.grad.{name}"] = parameters[name].grad.detach().clone()


def make_network_fixture(seed, bf16=False):
    Conv.bf16_operands = bf16
    generator = torch.Generator().manual_seed(seed)
    tensors = {}

    images = make_images(generator, BATCH_SIZE * STEPS)
    labels = torch.randint(0, 10, (BATCH_SIZE * STEPS,), generator=generator)
    for k in range(1, STEPS + 1):
        tensors[f"step{k}.input"] = images[(k - 1) * BATCH_SIZE:k * BATCH_SIZE]
        tensors[f"step{k}.labels"] = labels[(k - 1) * BATCH_SIZE:k * BATCH_SIZE]

    torch.manual_seed(seed)
    model = make_net(WIDTHS)
    tracker = PoolGapTracker(model)

    whiten_eigenvalues, whiten_covariance = init_whitening_conv(model[0], images)
    tensors["whiten.eigenvalues"] = whiten_eigenvalues
    tensors["whiten.covariance"] = whiten_covariance
    tensors["whiten.weight"] = model[0].weight.detach().clone()

    # Listing 4 starts these at zero; small random values make the test exercise them.
    # The identity (dirac) filters are replaced by random ones too: chains of identity maps copy GELU
    # outputs, which cluster near GELU's minimum, into the max-pool windows and make near-ties common
    # (see NEAR_TIE). The dirac initialisation itself is tested in Swift, against its definition.
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, Conv) and name != "0":
                bound = 1 / module.weight[0].numel() ** 0.5
                module.weight.uniform_(-bound, bound, generator=generator)
        model[0].bias.copy_(0.1 * torch.randn(model[0].bias.shape, generator=generator))
        for name, module in model.named_modules():
            if isinstance(module, BatchNorm):
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))

    initial_state = float_state(model)
    for key, value in initial_state.items():
        tensors[f"init.{key}"] = value

    # Optimizer, exactly as in Listing 4's main().
    batch_size = BATCH_SIZE
    momentum = HYP["momentum"]
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr = HYP["lr"] / kilostep_scale
    wd = HYP["weight_decay"] * batch_size / kilostep_scale
    lr_biases = lr * HYP["bias_scaler"]

    loss_fn = nn.CrossEntropyLoss(label_smoothing=HYP["label_smoothing"], reduction="none")

    norm_biases = [p for k, p in model.named_parameters() if "norm" in k and p.requires_grad]
    other_params = [p for k, p in model.named_parameters() if "norm" not in k and p.requires_grad]
    param_configs = [dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                     dict(params=other_params, lr=lr, weight_decay=wd / lr)]
    optimizer = torch.optim.SGD(param_configs, momentum=momentum, nesterov=True)

    lr_schedule = triangle(SCHEDULE_TOTAL_STEPS, start=0.2, end=0.07, peak=0.23)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: lr_schedule[i])
    alpha_schedule = 0.95**5 * (torch.arange(SCHEDULE_TOTAL_STEPS + 1) / SCHEDULE_TOTAL_STEPS)**3
    # Listing 4 takes this snapshot before init_whitening_conv; here it is taken from the complete
    # initial state (see scripts/README.md).
    lookahead_state = LookaheadState(model)

    # Whitening bias trainable, as in Listing 4's first whiten_bias_epochs epochs.
    model[0].bias.requires_grad = True
    trainable_names = [k for k, p in model.named_parameters() if p.requires_grad]

    schedule_used = []
    lookahead_decay = None
    current_steps = 0
    model.train()
    for k in range(1, STEPS + 1):
        inputs, step_labels = tensors[f"step{k}.input"], tensors[f"step{k}.labels"]
        # The factor LambdaLR applied for this step, read back rather than assumed.
        schedule_used.append(float(optimizer.param_groups[1]["lr"]) / lr)
        outputs = model(inputs)
        loss = loss_fn(outputs, step_labels).sum()
        optimizer.zero_grad(set_to_none=True)
        backward_and_record(model, tensors, k, outputs, loss, trainable_names)
        optimizer.step()
        scheduler.step()
        if k == 1:
            for key, value in float_state(model).items():
                tensors[f"step1.state.{key}"] = value

        current_steps += 1
        if current_steps % 5 == 0:
            for key, value in float_state(model).items():
                tensors[f"step{k}.state.{key}"] = value
            lookahead_decay = alpha_schedule[current_steps].item()
            lookahead_state.update(model, decay=lookahead_decay)

    for key, value in float_state(model).items():
        tensors[f"final.state.{key}"] = value

    for level in range(3):
        tensors[f"eval.logits_tta{level}"] = infer(model, tensors["step1.input"], level)

    expected_schedule = lr_schedule[:STEPS].tolist()
    assert all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(schedule_used, expected_schedule)), \
        (schedule_used, expected_schedule)

    def scalar(value):
        return torch.tensor([value], dtype=torch.float32)

    tensors["config.widths"] = torch.tensor(WIDTHS, dtype=torch.float32)
    tensors["hyp.lr"] = scalar(HYP["lr"])
    tensors["hyp.momentum"] = scalar(HYP["momentum"])
    tensors["hyp.weight_decay"] = scalar(HYP["weight_decay"])
    tensors["hyp.bias_scaler"] = scalar(HYP["bias_scaler"])
    tensors["hyp.label_smoothing"] = scalar(HYP["label_smoothing"])
    tensors["hyp.batch_size"] = scalar(BATCH_SIZE)
    tensors["hyp.schedule"] = lr_schedule[:STEPS].to(torch.float32).clone()
    tensors["hyp.lookahead_decay"] = scalar(lookahead_decay)

    metadata = {
        "description": ("airbench94 (Listing 4) reference run, float32 CPU: widths 16/32/32, batch 8, "
                        "5 steps, Lookahead update after step 5, TTA evaluation of step1.input"),
        "layout": LAYOUT_NOTE,
        "generator": "scripts/make_fixtures.py",
        "torch_version": torch.__version__,
        "seed": str(seed),
        "schedule_total_steps": str(SCHEDULE_TOTAL_STEPS),
        "lr_formula": ("kilostep_scale = 1024*(1+1/(1-momentum)); lr = hyp.lr/kilostep_scale; "
                       "wd = hyp.weight_decay*hyp.batch_size/kilostep_scale; lr_biases = lr*hyp.bias_scaler; "
                       "SGD nesterov, groups norm biases (lr_biases, weight_decay=wd/lr_biases) and others "
                       "(lr, weight_decay=wd/lr); step k uses lr*hyp.schedule[k-1]"),
        "lookahead": ("snapshot of init.* taken before step 1; after step 5: ema = lerp(ema, net, "
                      "1-hyp.lookahead_decay) for every float state entry, then net = ema"),
        "whitening": "computed from step1.input..step5.input concatenated (40 images), eps 5e-4",
    }
    return tensors, metadata, tracker.smallest


# ----------------------------------------------------------------------------------------------
# Fixture: the bf16 path.

def make_bf16_fixture(seed, fp32_tensors):
    """Step 1 of the network fixture with BF16OperandConv, and single bf16 convolutions."""
    tensors, _, _ = make_network_fixture(seed, bf16=True)
    for key in fp32_tensors:  # same init, inputs and whitening: only the convolutions' rounding differs
        if key.startswith(("init.", "step1.input", "whiten.")):
            assert torch.equal(tensors[key], fp32_tensors[key]), key
    kept = {k: v for k, v in tensors.items() if k in ("step1.logits", "step1.loss") or k.startswith("step1.grad.")}
    generator = torch.Generator().manual_seed(SEED + 2)
    for name, cin, cout, side, k in [("conv3x3", 24, 20, 9, 3), ("conv2x2", 3, 24, 8, 2)]:
        x = torch.randn(2, cin, side, side, generator=generator)
        w = 0.3 * torch.randn(cout, cin, k, k, generator=generator)
        padding = (k - 1) // 2
        x_leaf, w_leaf = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        y = BF16OperandConv.apply(x_leaf, w_leaf, padding)
        dy = torch.randn(*y.shape, generator=generator)
        y.backward(dy)
        kept.update({f"{name}.x": x, f"{name}.w": w, f"{name}.dy": dy, f"{name}.y": y.detach(),
                     f"{name}.dx": x_leaf.grad, f"{name}.dw": w_leaf.grad})
    return kept


# ----------------------------------------------------------------------------------------------
# Fixture: single layers.

def make_layers_fixture():
    generator = torch.Generator().manual_seed(SEED + 1)

    def randn(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=generator)

    tensors = {}

    def forward_backward(prefix, function, inputs, dy_shape=None):
        """Runs function on leaf copies of inputs and stores output, upstream grad and input grads."""
        leaves = {name: value.clone().requires_grad_(True) for name, value in inputs.items()}
        y = function(**leaves)
        dy = randn(*(dy_shape or y.shape))
        y.backward(dy)
        for name, value in inputs.items():
            tensors[f"{prefix}.{name}"] = value
        tensors[f"{prefix}.y"] = y.detach()
        tensors[f"{prefix}.dy"] = dy
        for name, leaf in leaves.items():
            tensors[f"{prefix}.d{name}"] = leaf.grad.detach()

    # GELU (exact, erf form): a wide sweep plus values where the tails saturate or underflow.
    extremes = torch.tensor([-1e4, -100.0, -40.0, -20.0, -15.0, -10.0, -9.0, -8.0, -7.0, -6.0,
                             -5.5, -5.0, -4.5, -4.0, -3.0, -1e-3, -1e-7, 0.0, 1e-7, 1e-3,
                             3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 20.0, 40.0, 100.0, 1e4])
    gelu_x = torch.cat([torch.linspace(-12, 12, 500), randn(1000 - 500 - len(extremes), scale=3.0), extremes])
    forward_backward("gelu", lambda x: F.gelu(x), {"x": gelu_x})

    # Label-smoothed cross entropy, reduction 'none' then summed as in training.
    logits = randn(16, 10, scale=3.0)
    labels = torch.randint(0, 10, (16,), generator=generator)
    leaf = logits.clone().requires_grad_(True)
    losses = F.cross_entropy(leaf, labels, label_smoothing=0.2, reduction="none")
    loss = losses.sum()
    loss.backward()
    tensors["xent.logits"] = logits
    tensors["xent.labels"] = labels
    tensors["xent.losses"] = losses.detach()
    tensors["xent.loss"] = loss.detach().reshape(1)
    tensors["xent.dlogits"] = leaf.grad.detach()

    # BatchNorm as in the network: weight frozen at 1, learnable bias, eps 1e-12, PyTorch momentum 0.4.
    bn = BatchNorm(8, momentum=HYP["batchnorm_momentum"])
    bn_x = randn(4, 8, 5, 5, scale=2.0) + 0.5
    bn_bias = randn(8, scale=0.1)
    running_mean0 = randn(8, scale=0.1)
    running_var0 = 1 + torch.rand(8, generator=generator)
    with torch.no_grad():
        bn.bias.copy_(bn_bias)
        bn.running_mean.copy_(running_mean0)
        bn.running_var.copy_(running_var0)
    bn.train()
    x_leaf = bn_x.clone().requires_grad_(True)
    bn_y = bn(x_leaf)
    bn_dy = randn(*bn_y.shape)
    bn_y.backward(bn_dy)
    tensors["batchnorm.x"] = bn_x
    tensors["batchnorm.bias"] = bn_bias
    tensors["batchnorm.running_mean0"] = running_mean0
    tensors["batchnorm.running_var0"] = running_var0
    tensors["batchnorm.y"] = bn_y.detach()
    tensors["batchnorm.dy"] = bn_dy
    tensors["batchnorm.dx"] = x_leaf.grad.detach()
    tensors["batchnorm.dbias"] = bn.bias.grad.detach()
    tensors["batchnorm.running_mean1"] = bn.running_mean.detach().clone()
    tensors["batchnorm.running_var1"] = bn.running_var.detach().clone()
    bn.eval()
    with torch.no_grad():
        tensors["batchnorm.y_eval"] = bn(bn_x)

    # Max pooling; continuous random inputs, so no ties decide where gradients go.
    forward_backward("maxpool2", lambda x: F.max_pool2d(x, 2), {"x": randn(2, 3, 7, 7)})
    forward_backward("maxpool3", lambda x: F.max_pool2d(x, 3), {"x": randn(2, 3, 3, 3)})

    # Convolutions and the linear layer.
    forward_backward("conv3x3", lambda x, w: F.conv2d(x, w, padding="same"),
                     {"x": randn(2, 5, 6, 6), "w": randn(7, 5, 3, 3, scale=0.3)})
    forward_backward("conv2x2", lambda x, w, b: F.conv2d(x, w, b),
                     {"x": randn(2, 3, 5, 5), "w": randn(4, 3, 2, 2, scale=0.3), "b": randn(4, scale=0.1)})
    forward_backward("linear", lambda x, w: F.linear(x, w),
                     {"x": randn(4, 6), "w": randn(10, 6, scale=0.3)})

    metadata = {
        "description": ("single-layer forward/backward references; for each prefix, dy is the upstream "
                        "gradient of y and d<input> the resulting gradient"),
        "layout": LAYOUT_NOTE,
        "generator": "scripts/make_fixtures.py",
        "torch_version": torch.__version__,
        "seed": str(SEED + 1),
        "gelu": "exact (erf) GELU, approximate='none'",
        "xent": "cross entropy, label_smoothing 0.2, reduction none (xent.losses), xent.loss = sum",
        "batchnorm": ("training mode, eps 1e-12, weight 1 (frozen), PyTorch momentum 0.4: running = "
                      "0.6*running0 + 0.4*batch, batch variance unbiased for the running update; "
                      "y_eval = eval mode with running_mean1/running_var1"),
        "maxpool2": "max_pool2d kernel 2 stride 2 (floor: last row/column of the 7x7 input dropped)",
        "maxpool3": "max_pool2d kernel 3 stride 3",
        "conv3x3": "conv2d padding 'same', no bias",
        "conv2x2": "conv2d padding 0 (valid), with bias",
        "linear": "y = x @ w.T, no bias",
    }
    return tensors, metadata


# ----------------------------------------------------------------------------------------------

def write_safetensors(tensors, metadata, path):
    """Writes a safetensors file byte-for-byte reproducibly.

    safetensors.torch.save_file orders __metadata__ entries differently from run to run, which
    would make every regeneration a binary diff. This writer uses the layout of the Swift
    SafetensorsFile writer instead: __metadata__ first with sorted keys, then tensors sorted by
    name and packed in that order, compact JSON padded with spaces to a multiple of 8 bytes.
    """
    dtypes = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        dtype_name, numpy_dtype = dtypes[tensor.dtype]
        blob = tensor.contiguous().numpy().astype(numpy_dtype).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    # Temporary file plus rename, so an interrupted run never leaves a truncated fixture behind.
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".fixture-")
    with os.fdopen(handle, "wb") as file:
        file.write(len(header_bytes).to_bytes(8, "little"))
        file.write(header_bytes)
        for blob in blobs:
            file.write(blob)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def save(tensors, metadata, name):
    path = os.path.normpath(os.path.join(FIXTURE_DIR, name))
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    write_safetensors(tensors, metadata, path)
    loaded = load_file(path)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")
    for key in sorted(tensors):
        print(f"  {key} {list(tensors[key].shape)} {str(tensors[key].dtype).replace('torch.', '')}")
    return path


def verify_rewrite(path):
    """Checks that a file written by the Swift writer loads in PyTorch and matches the fixture."""
    original = load_file(os.path.join(FIXTURE_DIR, "airbench94_small.safetensors"))
    rewritten = load_file(path)
    assert rewritten.keys() == original.keys(), set(rewritten) ^ set(original)
    for key in original:
        assert rewritten[key].dtype == original[key].dtype, key
        assert torch.equal(rewritten[key], original[key]), key
    print(f"{path}: loads with safetensors.torch.load_file; {len(rewritten)} tensors identical to the fixture")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify-rewrite", metavar="FILE",
                        help="check a Swift re-write of airbench94_small.safetensors instead of generating")
    arguments = parser.parse_args()
    if arguments.verify_rewrite:
        verify_rewrite(arguments.verify_rewrite)
        return

    torch.use_deterministic_algorithms(True)
    # One thread, so reductions run in the same order on every machine.
    torch.set_num_threads(1)
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    # The first seed from SEED on whose max-pool windows have no near-ties (see NEAR_TIE).
    for seed in range(SEED, SEED + 100):
        tensors, metadata, smallest_pool_gap = make_network_fixture(seed)
        if smallest_pool_gap > NEAR_TIE:
            break
        print(f"seed {seed}: a max-pool window has a near-tie ({smallest_pool_gap:.1e}); next seed")
    save(tensors, metadata, "airbench94_small.safetensors")
    save(make_bf16_fixture(seed, tensors), {
        "description": ("the bf16 path's reference: the first step of airbench94_small (same seed, init and "
                        "inputs) and single convolutions, with every convolution operand (input and weights "
                        "forward, dOut and weights for the input gradient, input and dOut for the weight "
                        "gradient) rounded to bfloat16, nearest even, products and sums float32"),
        "layout": LAYOUT_NOTE, "generator": "scripts/make_fixtures.py", "torch_version": torch.__version__,
        "seed": str(seed)}, "airbench94_small_bf16.safetensors")
    Conv.bf16_operands = False
    save(*make_layers_fixture(), "layers.safetensors")


if __name__ == "__main__":
    sys.exit(main())
