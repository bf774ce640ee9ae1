#!/usr/bin/python3
"""Write the small deterministic TorchScript fixtures used by tests/model (and other tests).

Usage:
  /usr/bin/python3 tools/make_test_models.py [FIXTURES_DIR] [EXPECTED_FILE]
  (defaults: tests/fixtures and tests/model/expected_taps.txt, relative to the repository root)

Fixtures (each well under 100 KB), all in eval mode with non-trivial BatchNorm statistics:
  tiny_resnet.pt             torchvision ResNet layout (conv1, bn1, relu, maxpool, layer1..layer4,
                             avgpool, fc) built from torchvision's BasicBlock (layer1, layer2) and
                             Bottleneck (layer3, layer4); taps relu/layer1..4 have 8/8/16/32/64
                             channels at strides 2/4/8/16/32.
  tiny_vgg.pt                torchvision VGG layout (features, avgpool, classifier); the ReLUs before
                             the five max-pools are features.2/5/11/14/17 (8/16/16/24/32 channels,
                             strides 1/2/4/8/16). features.4 is a conv followed by an in-place ReLU.
  tiny_densenet.pt           torchvision DenseNet (growth 4, blocks 2,2,2,2) wrapped by
                             export_model.DenseNetTaps: forward returns (output, 5 taps), with a
                             tap_names attribute and forward_with_pre_activation.
  tiny_densenet_plain.pt     the same DenseNet scripted as it is: running its children in order does
                             not reproduce its forward (satsal must refuse it loudly).
  tiny_tuple.pt              a small net whose forward returns (output, t1, t2, t3) and that has no
                             tap_names attribute (satsal names the taps tap1..tap3; strides 1, 2, 4).
  tiny_resnet_state_dict.pt  torch.save() of tiny_resnet's state dict: a zip archive that is not
                             TorchScript.

The expected-values file lists, for a deterministic input (see test_input), the output and chosen
tap tensors computed here in eager mode with forward hooks on the original Python modules, which is
independent of satsal's children-running:
  <fixture> <output|tap|pre> <name> <d0,d1,d2,d3> <sum> <sum of |x|> <x[first]> <x[middle]> <x[last]>
"""
import os
import sys
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import DenseNetTaps  # noqa: E402


def test_input(n: int = 2, size: int = 64) -> torch.Tensor:
    """Integer arithmetic and one float division: bit-identical when recomputed with ATen in C++."""
    count = n * 3 * size * size
    x = (torch.arange(count, dtype=torch.int64) * 37) % 101
    return (x.to(torch.float32) / 50.0 - 1.0).reshape(n, 3, size, size)


class TinyResNet(nn.Module):
    """Same child names and forward as torchvision.models.ResNet, with small widths."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        self.layer2 = nn.Sequential(
            BasicBlock(8, 16, stride=2, downsample=nn.Sequential(
                nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))),
            BasicBlock(16, 16))
        self.layer3 = nn.Sequential(
            Bottleneck(16, 8, stride=2, downsample=nn.Sequential(
                nn.Conv2d(16, 32, 1, stride=2, bias=False), nn.BatchNorm2d(32))))
        self.layer4 = nn.Sequential(
            Bottleneck(32, 16, stride=2, downsample=nn.Sequential(
                nn.Conv2d(32, 64, 1, stride=2, bias=False), nn.BatchNorm2d(64))))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TinyVGG(nn.Module):
    """Same child names and forward as torchvision.models.VGG, with small widths."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),   # 0 1 2
            nn.MaxPool2d(2, 2),                                                        # 3
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),  # 4 5 6
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),  # 7 8 9
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),  # 10 11 12
            nn.Conv2d(16, 24, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),  # 13 14 15
            nn.Conv2d(24, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))  # 16 17 18
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Linear(32 * 2 * 2, 32), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class TinyTuple(nn.Module):
    """forward returns (output, t1, t2, t3); no tap_names attribute."""

    def __init__(self, num_classes: int = 5):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.pool1 = nn.MaxPool2d(2)
        self.block2 = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.pool2 = nn.AvgPool2d(2)
        self.block3 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        t1 = self.block1(x)
        t2 = self.block2(self.pool1(t1))
        t3 = self.block3(self.pool2(t2))
        out = self.fc(torch.flatten(F.adaptive_avg_pool2d(t3, (1, 1)), 1))
        return out, t1, t2, t3


def tiny_densenet() -> torchvision.models.DenseNet:
    return torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2, 2, 2), num_init_features=8,
                                       bn_size=2, num_classes=10)


def randomize_batchnorm(model: nn.Module, generator: torch.Generator) -> None:
    """Default BN statistics (mean 0, var 1, weight 1, bias 0) would make eval BN nearly the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=generator) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(c, generator=generator) * 0.2)


class Recorder:
    """Forward hooks that clone a module's output (post) or its input before the call (pre).

    A module called several times (the relu inside a residual block) keeps the last call.
    """

    def __init__(self):
        self.values: Dict[str, torch.Tensor] = {}
        self.handles = []

    def output_of(self, key: str, module: nn.Module) -> None:
        def hook(_m, _inputs, output):
            self.values[key] = output.detach().clone()
        self.handles.append(module.register_forward_hook(hook))

    def input_of(self, key: str, module: nn.Module) -> None:
        def hook(_m, inputs):
            self.values[key] = inputs[0].detach().clone()
        self.handles.append(module.register_forward_pre_hook(hook))

    def remove(self) -> None:
        """Hooks must go before scripting (TorchScript would try to compile them)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []


def summary_line(fixture: str, kind: str, name: str, t: torch.Tensor) -> str:
    flat = t.reshape(-1).to(torch.float64)
    shape = ",".join(str(d) for d in t.shape)
    values = [flat[0].item(), flat[flat.numel() // 2].item(), flat[-1].item()]
    return (f"{fixture} {kind} {name} {shape} {flat.sum().item():.10g} {flat.abs().sum().item():.10g} "
            + " ".join(f"{v:.10g}" for v in values))


def save_scripted(model: nn.Module, path: str) -> torch.jit.ScriptModule:
    model.eval()
    scripted = torch.jit.script(model)
    scripted.eval()
    torch.jit.save(scripted, path)
    return torch.jit.load(path)


def check_same(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if not torch.allclose(a, b, rtol=1e-5, atol=1e-6):
        raise SystemExit(f"make_test_models.py: {what}: scripted and eager results differ")


def main(argv: List[str]) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fixtures = argv[0] if len(argv) > 0 else os.path.join(root, "tests", "fixtures")
    expected_path = argv[1] if len(argv) > 1 else os.path.join(root, "tests", "model", "expected_taps.txt")
    os.makedirs(fixtures, exist_ok=True)
    x = test_input()
    lines: List[str] = ["# written by tools/make_test_models.py; input: test_input() = 2x3x64x64"]

    # --- tiny ResNet ---
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(11)
    resnet = TinyResNet()
    randomize_batchnorm(resnet, gen)
    resnet.eval()
    rec = Recorder()
    for name in ["relu", "layer1", "layer2", "layer3", "layer4", "maxpool", "bn1"]:
        rec.output_of(name, getattr(resnet, name))
    rec.output_of("layer2.0", resnet.layer2[0])
    rec.input_of("pre:relu", resnet.relu)
    for name in ["layer1", "layer2", "layer3", "layer4"]:
        rec.input_of("pre:" + name, getattr(resnet, name)[-1].relu)
    with torch.no_grad():
        out = resnet(x.clone())
    rec.remove()
    scripted = save_scripted(resnet, os.path.join(fixtures, "tiny_resnet.pt"))
    with torch.no_grad():
        check_same(scripted(x.clone()), out, "tiny_resnet")
    lines.append(summary_line("tiny_resnet", "output", "-", out))
    for name in ["relu", "layer1", "layer2", "layer3", "layer4", "maxpool", "bn1", "layer2.0"]:
        lines.append(summary_line("tiny_resnet", "tap", name, rec.values[name]))
    for name in ["relu", "layer1", "layer2", "layer3", "layer4"]:
        pre = rec.values["pre:" + name]
        if not torch.equal(F.relu(pre), rec.values[name]):
            raise SystemExit(f"make_test_models.py: pre-activation of {name} is not its input to ReLU")
        lines.append(summary_line("tiny_resnet", "pre", name, pre))
    torch.save(resnet.state_dict(), os.path.join(fixtures, "tiny_resnet_state_dict.pt"))

    # --- tiny VGG ---
    torch.manual_seed(2)
    gen = torch.Generator().manual_seed(12)
    vgg = TinyVGG()
    randomize_batchnorm(vgg, gen)
    vgg.eval()
    rec = Recorder()
    vgg_taps = ["2", "5", "11", "14", "17", "4"]
    for i in vgg_taps:
        rec.output_of("features." + i, vgg.features[int(i)])
    rec.input_of("pre:features.2", vgg.features[2])
    with torch.no_grad():
        out = vgg(x.clone())
    rec.remove()
    scripted = save_scripted(vgg, os.path.join(fixtures, "tiny_vgg.pt"))
    with torch.no_grad():
        check_same(scripted(x.clone()), out, "tiny_vgg")
    lines.append(summary_line("tiny_vgg", "output", "-", out))
    for i in vgg_taps:
        lines.append(summary_line("tiny_vgg", "tap", "features." + i, rec.values["features." + i]))
    lines.append(summary_line("tiny_vgg", "pre", "features.2", rec.values["pre:features.2"]))

    # --- tiny DenseNet: plain and tuple-wrapped, from the same weights ---
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(13)
    dense = tiny_densenet()
    randomize_batchnorm(dense, gen)
    dense.eval()
    rec = Recorder()
    f = dense.features
    rec.output_of("features.relu0", f.relu0)
    for k in (1, 2, 3):
        rec.output_of(f"features.transition{k}.relu", getattr(f, f"transition{k}").relu)
        rec.input_of(f"pre:features.transition{k}.relu", getattr(f, f"transition{k}").relu)
    rec.input_of("pre:features.relu0", f.relu0)
    rec.output_of("norm5", f.norm5)
    with torch.no_grad():
        out = dense(x.clone())
    rec.remove()
    rec.values["features.norm5.relu"] = F.relu(rec.values["norm5"])
    rec.values["pre:features.norm5.relu"] = rec.values["norm5"]
    save_scripted(dense, os.path.join(fixtures, "tiny_densenet_plain.pt"))
    scripted = save_scripted(DenseNetTaps(dense), os.path.join(fixtures, "tiny_densenet.pt"))
    names = list(scripted.tap_names)
    with torch.no_grad():
        result = scripted(x.clone())
        with_pre = scripted.forward_with_pre_activation(x.clone())
    check_same(result[0], out, "tiny_densenet output")
    for i, name in enumerate(names):
        check_same(result[1 + i], rec.values[name], "tiny_densenet tap " + name)
        check_same(with_pre[1 + len(names) + i], rec.values["pre:" + name], "tiny_densenet pre " + name)
    lines.append(summary_line("tiny_densenet", "output", "-", out))
    for name in names:
        lines.append(summary_line("tiny_densenet", "tap", name, rec.values[name]))
    for name in names:
        lines.append(summary_line("tiny_densenet", "pre", name, rec.values["pre:" + name]))

    # --- tiny tuple model ---
    torch.manual_seed(4)
    gen = torch.Generator().manual_seed(14)
    tup = TinyTuple()
    randomize_batchnorm(tup, gen)
    tup.eval()
    with torch.no_grad():
        result = tup(x.clone())
    scripted = save_scripted(tup, os.path.join(fixtures, "tiny_tuple.pt"))
    with torch.no_grad():
        check_same(scripted(x.clone())[0], result[0], "tiny_tuple")
    lines.append(summary_line("tiny_tuple", "output", "-", result[0]))
    for i in range(1, 4):
        lines.append(summary_line("tiny_tuple", "tap", f"tap{i}", result[i]))

    with open(expected_path, "w") as out_file:
        out_file.write("\n".join(lines) + "\n")
    for name in sorted(os.listdir(fixtures)):
        if name.startswith("tiny_") and name.endswith(".pt"):
            print(f"{os.path.join(fixtures, name)}: {os.path.getsize(os.path.join(fixtures, name))} bytes")
    print(f"wrote {expected_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
