#!/usr/bin/python3
"""Export a torchvision CNN as a TorchScript file that satsal can load.

Usage:
  /usr/bin/python3 tools/export_model.py {resnet50,vgg16,densenet121} OUTPUT.pt
                                         [--weights STATE_DICT.pt] [--num-classes N] [--seed S]

Without --weights the network gets random weights drawn with a fixed seed (default 0), which is
enough for timing and for checking the saliency pipeline. With --weights, a state dict saved by
torch.save(model.state_dict(), path) is loaded (strictly) into the torchvision architecture.
The module is put in eval mode and scripted with torch.jit.script.

ResNet-50 and VGG-16 are exported as they are: satsal finds their taps by running their top-level
children in order (ResNet: relu, layer1..layer4; VGG: the ReLU before each max-pool in `features`).

DenseNet-121 is exported wrapped in DenseNetTaps, whose forward returns the tuple
(output, tap_1, ..., tap_5) and which carries a `tap_names: List[str]` attribute. Why: torchvision's
DenseNet applies relu, global pooling and flatten as functions in its forward, after `features`, so
running its children in order does not reproduce its output, and its end-of-scale post-ReLU tensors
(the relu inside each transition block, and relu(features.norm5)) are not all child outputs. The
wrapper computes exactly torchvision's DenseNet forward from the same submodules and also offers a
`forward_with_pre_activation` method returning (output, taps..., pre-activations...) for the
truncated-normal statistics.
"""
import argparse
import os
import re
import sys
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class DenseNetTaps(nn.Module):
    """A torchvision DenseNet (4 dense blocks) whose forward also returns the end-of-scale taps.

    Taps, in order: features.relu0 (stride 2), features.transition{1,2,3}.relu (strides 4, 8, 16),
    features.norm5.relu = relu(features.norm5) (stride 32). The output equals torchvision's
    DenseNet.forward bit for bit: same submodules, same operations, same order.
    """

    tap_names: List[str]

    def __init__(self, densenet: torchvision.models.DenseNet):
        super().__init__()
        f = densenet.features
        blocks = [name for name, _ in f.named_children() if name.startswith("denseblock")]
        if len(blocks) != 4:
            raise ValueError(f"DenseNetTaps expects 4 dense blocks, got {len(blocks)}")
        self.conv0, self.norm0, self.pool0 = f.conv0, f.norm0, f.pool0
        self.denseblock1, self.denseblock2 = f.denseblock1, f.denseblock2
        self.denseblock3, self.denseblock4 = f.denseblock3, f.denseblock4
        self.transition1, self.transition2 = f.transition1, f.transition2
        self.transition3 = f.transition3
        self.norm5 = f.norm5
        self.classifier = densenet.classifier
        self.tap_names = ["features.relu0", "features.transition1.relu",
                          "features.transition2.relu", "features.transition3.relu",
                          "features.norm5.relu"]

    def _scales(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor]]:
        # The ReLU modules of torchvision's DenseNet work in place; F.relu keeps the pre-activation
        # tensors intact and gives identical values.
        pre: List[torch.Tensor] = []
        taps: List[torch.Tensor] = []
        p = self.norm0(self.conv0(x))
        pre.append(p)
        t = F.relu(p)
        taps.append(t)
        x = self.denseblock1(self.pool0(t))
        p = self.transition1.norm(x)
        pre.append(p)
        t = F.relu(p)
        taps.append(t)
        x = self.denseblock2(self.transition1.pool(self.transition1.conv(t)))
        p = self.transition2.norm(x)
        pre.append(p)
        t = F.relu(p)
        taps.append(t)
        x = self.denseblock3(self.transition2.pool(self.transition2.conv(t)))
        p = self.transition3.norm(x)
        pre.append(p)
        t = F.relu(p)
        taps.append(t)
        x = self.denseblock4(self.transition3.pool(self.transition3.conv(t)))
        p = self.norm5(x)
        pre.append(p)
        t = F.relu(p)
        taps.append(t)
        out = self.classifier(torch.flatten(F.adaptive_avg_pool2d(t, (1, 1)), 1))
        return out, taps, pre

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor, torch.Tensor, torch.Tensor]:
        out, t, _ = self._scales(x)
        return out, t[0], t[1], t[2], t[3], t[4]

    @torch.jit.export
    def forward_with_pre_activation(self, x: torch.Tensor) -> Tuple[
            torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
            torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        out, t, p = self._scales(x)
        return out, t[0], t[1], t[2], t[3], t[4], p[0], p[1], p[2], p[3], p[4]


def build(arch: str, num_classes: int) -> nn.Module:
    constructors = {
        "resnet50": torchvision.models.resnet50,
        "vgg16": torchvision.models.vgg16,
        "densenet121": torchvision.models.densenet121,
    }
    return constructors[arch](weights=None, num_classes=num_classes)


def rename_legacy_densenet_keys(state: dict) -> dict:
    """The published DenseNet weights name layers 'norm.1' where torchvision now says 'norm1'."""
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
    renamed = {}
    for key, value in state.items():
        match = pattern.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    return renamed


def export(model: nn.Module, arch: str, output: str) -> torch.jit.ScriptModule:
    model.eval()
    if arch.startswith("densenet"):
        model = DenseNetTaps(model).eval()
    scripted = torch.jit.script(model)
    scripted.eval()
    if os.path.dirname(output):
        os.makedirs(os.path.dirname(output), exist_ok=True)  # e.g. build/models/ in a fresh build
    torch.jit.save(scripted, output)
    return scripted


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Export ResNet-50, VGG-16 or DenseNet-121 (torchvision layout) as TorchScript "
                    "for satsal. DenseNet is wrapped so its forward returns (output, taps...).")
    parser.add_argument("arch", choices=["resnet50", "vgg16", "densenet121"])
    parser.add_argument("output", help="path of the TorchScript file to write (e.g. build/models/resnet50.pt)")
    parser.add_argument("--weights", help="state dict (torch.save(model.state_dict())) to load; "
                                          "default: random weights from --seed")
    parser.add_argument("--num-classes", type=int, default=1000, help="classifier outputs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for random weights (default 0)")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    model = build(args.arch, args.num_classes)
    if args.weights:
        state = torch.load(args.weights, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if args.arch.startswith("densenet"):
            state = rename_legacy_densenet_keys(state)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            print(f"export_model.py: {args.weights} does not fit {args.arch} with "
                  f"{args.num_classes} classes: {e}", file=sys.stderr)
            return 2
    export(model, args.arch, args.output)
    print(f"wrote {args.output} ({args.arch}, {args.num_classes} classes, "
          f"{'weights from ' + args.weights if args.weights else 'random weights, seed %d' % args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
