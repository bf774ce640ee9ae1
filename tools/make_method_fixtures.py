#!/usr/bin/python3
"""Reference values for the gradient-based methods (tests/methods), computed with PyTorch autograd
on eager models (never the TorchScript graphs satsal runs), plus the small models those tests need.

Usage:
  /usr/bin/python3 tools/make_method_fixtures.py [OUT_DIR]     (default: tests/fixtures/methods)

Writes into OUT_DIR:
  resnet18_strided.pt  torchvision.models.resnet18 (the torchvision class itself, 10 classes), eval
                       mode, scripted; every parameter and buffer is a strided view of a small random
                       storage (strides 3,2,1,1 for conv weights) so the file stays ~250 KB instead of
                       45 MB. The weights are random but structured; the architecture is torchvision's.
  no_relu.pt           conv + sigmoid + max-pool network without any ReLU (guided backprop must refuse it).
  tap_grad.pt          a module whose forward returns (output, detached, used, unused): tap `detached`
                       is cut from autograd, tap `unused` does not influence the output (Grad-CAM must
                       refuse both with a clear error), tap `used` is the ordinary last block.
  reference.pt         a TorchScript module whose buffers are the reference tensors, named
                       <model>__<quantity>; C++ reads them with module.attr(name). Large tensors are
                       stored as float16 relative to their max |value| plus exact sums (see Reference).

Models and inputs (input = test_input(n, 64): integer pattern, bit-identical in C++):
  tiny_resnet (tests/fixtures/tiny_resnet.pt, n = 2), tiny_vgg (n = 1), tiny_densenet (tuple module,
  F.relu in its forward, n = 1), count (models/cowc-count-demo.pt, the counting network, n = 1),
  resnet18 (resnet18_strided.pt, n = 1).

Quantities (score = logit of each image's predicted class unless stated):
  logits, targets                 the forward and its arg-max
  gradient, guided                d score / d input; guided with every ReLU (nn.ReLU modules and F.relu)
                                  replaced by GuidedReLU: backward grad * [x > 0] * [grad > 0]
  ig                              integrated gradients, zero baseline, 8 steps, midpoint rule, all steps
                                  in one batch
  gradcam, gradcampp              Grad-CAM / Grad-CAM++ (pytorch-grad-cam's formula) on the last tap,
                                  bilinear upsampling to 64x64 (align_corners False), then min-max
  tiny_resnet only:               ig_b05_c3 (baseline 0.5, class 3, 5 steps, image 0);
                                  sg_gradient (3 samples), sg_guided (2), sg_ig (2 samples x 3 steps),
                                  noise 0.15, seed 7, image 0: noise drawn torch.randn([1,3,64,64],
                                  generator=Generator().manual_seed(7)) per sample in order;
                                  smoe_combined and fastcam, fastcam_nonclass (SMOE on relu, layer1..4,
                                  eps 1e-6, normal-CDF normalization, bilinear upsampling, equal weights)
"""
import contextlib
import math
import os
import sys
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import DenseNetTaps  # noqa: E402
from make_count_model import CountNet  # noqa: E402
from make_test_models import TinyResNet, TinyVGG, test_input, tiny_densenet  # noqa: E402

STEPS = 8


class GuidedReLUFunction(torch.autograd.Function):
    calls = 0

    @staticmethod
    def forward(ctx, x):
        GuidedReLUFunction.calls += 1
        y = x.clamp(min=0)
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0) * (x > 0).to(grad.dtype)


class GuidedReLU(nn.Module):
    def forward(self, x):
        return GuidedReLUFunction.apply(x)


@contextlib.contextmanager
def guided(model: nn.Module):
    """Every nn.ReLU module replaced by GuidedReLU, and F.relu (used by forward methods) patched."""
    replaced = []
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                replaced.append((parent, name, child))
                setattr(parent, name, GuidedReLU())
    original = F.relu

    def guided_relu(x, inplace=False):
        return GuidedReLUFunction.apply(x)

    F.relu = guided_relu
    GuidedReLUFunction.calls = 0
    try:
        yield
    finally:
        F.relu = original
        for parent, name, child in replaced:
            setattr(parent, name, child)


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    return (out[0] if isinstance(out, tuple) else out).flatten(1)


def input_gradient(model, x, targets):
    x = x.clone().requires_grad_(True)
    score = logits_of(model, x).gather(1, targets.view(-1, 1)).sum()
    return torch.autograd.grad(score, x)[0]


def guided_gradient(model, x, targets):
    with guided(model):
        g = input_gradient(model, x, targets)
        if GuidedReLUFunction.calls == 0:
            raise SystemExit("make_method_fixtures.py: no ReLU was replaced")
    return g


def integrated_gradients(model, x, targets, steps, baseline=0.0):
    out = []
    alphas = ((torch.arange(steps, dtype=torch.float64) + 0.5) / steps).to(torch.float32).view(-1, 1, 1, 1)
    for i in range(x.shape[0]):
        diff = x[i] - baseline
        path = alphas * diff.unsqueeze(0) + baseline
        g = input_gradient(model, path, targets[i:i + 1].expand(steps)).sum(0)
        out.append(diff * g / steps)
    return torch.stack(out)


def smoothgrad_sq(base, x, samples, noise, seed):
    n = x.shape[0]
    flat = x.view(n, -1)
    sigma = ((flat.amax(1) - flat.amin(1)) * noise).view(n, 1, 1, 1)
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros_like(x)
    for _ in range(samples):
        eps = torch.randn(x.shape, generator=gen)
        a = base(x + eps * sigma)
        total += a * a
    return total / samples


def min_max(maps: torch.Tensor) -> torch.Tensor:
    n = maps.shape[0]
    flat = maps.reshape(n, -1)
    low = flat.amin(1).view(n, 1, 1)
    rng = flat.amax(1).view(n, 1, 1) - low
    return torch.where(rng > 0, (maps - low) / torch.where(rng > 0, rng, torch.ones_like(rng)), torch.zeros_like(maps))


def grad_cam(model, x, targets, tap_of, plus_plus):
    """tap_of(model, x) -> (logits, activation) with the activation on the autograd graph."""
    x = x.clone().requires_grad_(True)
    logits, a = tap_of(model, x)
    score = logits.gather(1, targets.view(-1, 1)).sum()
    g = torch.autograd.grad(score, a)[0]
    a = a.detach()
    if plus_plus:
        g2 = g ** 2
        g3 = g2 * g
        sum_a = a.sum(dim=(2, 3), keepdim=True)
        alpha = g2 / (2 * g2 + sum_a * g3 + 1e-7)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
        w = (g.clamp(min=0) * alpha).sum(dim=(2, 3), keepdim=True)
    else:
        w = g.mean(dim=(2, 3), keepdim=True)
    cam = (w * a).sum(1, keepdim=True).clamp(min=0)
    up = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    return min_max(up[:, 0])


def module_tap(path: str):
    def tap_of(model, x):
        module = model
        for part in path.split("."):
            module = getattr(module, part) if not part.isdigit() else module[int(part)]
        captured = {}
        handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("a", out))
        try:
            logits = logits_of(model, x)
        finally:
            handle.remove()
        return logits, captured["a"]
    return tap_of


def tuple_tap(index: int):
    def tap_of(model, x):
        out = model(x)
        return out[0].flatten(1), out[index]
    return tap_of


def smoe(a: torch.Tensor) -> torch.Tensor:
    a = a.double() + 1e-6
    m = a.mean(1)
    return m * (torch.log2(m) - torch.log2(a).mean(1))


def gauss_normalize(s: torch.Tensor) -> torch.Tensor:
    mu = s.mean()
    sd = s.std(unbiased=False)
    return 0.5 * (1 + torch.erf((s - mu) / (sd * math.sqrt(2))))


def smoe_combined(model, x, taps: List[str]) -> torch.Tensor:
    captured: Dict[str, torch.Tensor] = {}
    handles = [getattr(model, t).register_forward_hook(
        lambda _m, _i, out, t=t: captured.__setitem__(t, out.detach().clone())) for t in taps]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    maps = []
    for t in taps:
        s = smoe(captured[t])  # [N, h, w]
        normed = torch.stack([gauss_normalize(s[i]) for i in range(s.shape[0])])
        maps.append(F.interpolate(normed.unsqueeze(1), size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0])
    return torch.stack(maps).mean(0).float()


def load_into(model: nn.Module, scripted_path: str) -> nn.Module:
    state = torch.jit.load(scripted_path).state_dict()
    model.load_state_dict(state, strict=True)
    return model.eval()


def strided_resnet18(seed: int = 5) -> nn.Module:
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    gen = torch.Generator().manual_seed(seed)

    def strided(shape, scale, offset=0.0, positive=False):
        if len(shape) == 4:
            strides = [3, 2, 1, 1]
        elif len(shape) == 2:
            strides = [3, 1]
        else:
            strides = [1] * len(shape)
        n = sum((s - 1) * st for s, st in zip(shape, strides)) + 1
        base = torch.rand(n, generator=gen) + 0.5 if positive else torch.randn(n, generator=gen) * scale + offset
        return base.as_strided(shape, strides)

    with torch.no_grad():
        for module in model.modules():
            for name, p in list(module._parameters.items()):
                if p is None:
                    continue
                if p.dim() > 1:
                    fan_in = p[0].numel()
                    module._parameters[name] = nn.Parameter(strided(p.shape, (1.0 / fan_in) ** 0.5))
                else:
                    module._parameters[name] = nn.Parameter(strided(p.shape, 0.1, 0.5 if name == "weight" else 0.0))
            for name, b in list(module._buffers.items()):
                if b is None or b.dtype != torch.float32:
                    continue
                module._buffers[name] = strided(b.shape, 0.2, positive=(name == "running_var"))
    return model


class NoReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act1 = nn.Sigmoid()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.act2 = nn.Sigmoid()
        self.pool2 = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class TapGrad(nn.Module):
    tap_names: List[str]

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 3)
        self.tap_names = ["detached", "used", "unused"]

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        t1 = F.relu(self.conv1(x))
        t2 = F.relu(self.conv2(t1))
        unused = F.relu(self.conv3(x))
        out = self.fc(torch.flatten(F.adaptive_avg_pool2d(t2, (1, 1)), 1))
        return out, t1.detach(), t2, unused


def main(argv: List[str]) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = argv[0] if argv else os.path.join(root, "tests", "fixtures", "methods")
    fixtures = os.path.join(root, "tests", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)

    resnet18 = strided_resnet18()
    torch.jit.save(torch.jit.script(resnet18), os.path.join(out_dir, "resnet18_strided.pt"))
    torch.manual_seed(21)
    torch.jit.save(torch.jit.script(NoReLU().eval()), os.path.join(out_dir, "no_relu.pt"))
    torch.manual_seed(22)
    torch.jit.save(torch.jit.script(TapGrad().eval()), os.path.join(out_dir, "tap_grad.pt"))

    count_state = torch.jit.load(os.path.join(root, "models", "cowc-count-demo.pt")).state_dict()
    # BasicBlocks per stage and widths, read off the trained tensors (layerS.K.conv1.weight).
    count_blocks = [1 + max(int(name.split(".")[1]) for name in count_state
                            if name.startswith(f"layer{stage}.") and name.endswith(".conv1.weight"))
                    for stage in range(1, 5)]
    count_widths = [count_state[f"layer{stage}.0.conv1.weight"].shape[0] for stage in range(1, 5)]
    count = CountNet(count_state["fc.weight"].shape[0], count_widths, count_blocks)
    count.load_state_dict(count_state, strict=True)
    count.eval()

    models = [
        ("tiny_resnet", load_into(TinyResNet(), os.path.join(fixtures, "tiny_resnet.pt")), 2, module_tap("layer4")),
        ("tiny_vgg", load_into(TinyVGG(), os.path.join(fixtures, "tiny_vgg.pt")), 1, module_tap("features.17")),
        ("tiny_densenet", load_into(DenseNetTaps(tiny_densenet()), os.path.join(fixtures, "tiny_densenet.pt")), 1,
         tuple_tap(5)),
        ("count", count, 1, module_tap("layer4")),
        ("resnet18", resnet18, 1, module_tap("layer4")),
    ]
    tensors: Dict[str, torch.Tensor] = {}
    for name, model, n, tap_of in models:
        x = test_input(n, 64)
        with torch.no_grad():
            logits = logits_of(model, x)
        targets = logits.argmax(1)
        tensors[f"{name}__logits"] = logits
        tensors[f"{name}__targets"] = targets
        tensors[f"{name}__gradient"] = input_gradient(model, x, targets)
        tensors[f"{name}__guided"] = guided_gradient(model, x, targets)
        tensors[f"{name}__ig"] = integrated_gradients(model, x, targets, STEPS)
        tensors[f"{name}__gradcam"] = grad_cam(model, x, targets, tap_of, False)
        tensors[f"{name}__gradcampp"] = grad_cam(model, x, targets, tap_of, True)
        print(f"{name}: targets {targets.tolist()}, guided ReLU calls {GuidedReLUFunction.calls}")

    resnet = models[0][1]
    x0 = test_input(2, 64)[:1]
    t0 = tensors["tiny_resnet__targets"][:1]
    tensors["tiny_resnet__ig_b05_c3"] = integrated_gradients(resnet, x0, torch.tensor([3]), 5, baseline=0.5)
    tensors["tiny_resnet__sg_gradient"] = smoothgrad_sq(lambda v: input_gradient(resnet, v, t0), x0, 3, 0.15, 7)
    tensors["tiny_resnet__sg_guided"] = smoothgrad_sq(lambda v: guided_gradient(resnet, v, t0), x0, 2, 0.15, 7)
    tensors["tiny_resnet__sg_ig"] = smoothgrad_sq(lambda v: integrated_gradients(resnet, v, t0, 3), x0, 2, 0.15, 7)
    x = test_input(2, 64)
    combined = smoe_combined(resnet, x, ["relu", "layer1", "layer2", "layer3", "layer4"])
    cam = tensors["tiny_resnet__gradcam"]
    tensors["tiny_resnet__smoe_combined"] = combined
    tensors["tiny_resnet__fastcam"] = combined * cam
    tensors["tiny_resnet__fastcam_nonclass"] = combined * (1 - cam)

    class Reference(nn.Module):
        """Tensors of more than 4096 values are stored as float16 of value / scale (scale = max |value|,
        buffer <key>__scale, float32) with their exact float64 sum and sum of |value| (<key>__sum,
        <key>__abs_sum), which keeps the file small; smaller ones as they are."""

        def __init__(self, values: Dict[str, torch.Tensor]):
            super().__init__()
            for key, value in values.items():
                value = value.detach().contiguous().clone()
                if value.numel() > 4096:
                    scale = value.abs().max().clamp(min=1e-30)
                    self.register_buffer(key, (value / scale).half())
                    self.register_buffer(key + "__scale", scale.reshape(1).float())
                    self.register_buffer(key + "__sum", value.double().sum().reshape(1))
                    self.register_buffer(key + "__abs_sum", value.double().abs().sum().reshape(1))
                else:
                    self.register_buffer(key, value)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    torch.jit.save(torch.jit.script(Reference(tensors)), os.path.join(out_dir, "reference.pt"))
    for f in sorted(os.listdir(out_dir)):
        print(f"wrote {os.path.join(out_dir, f)} ({os.path.getsize(os.path.join(out_dir, f))} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
