#!/usr/bin/python3
"""Writes the untrained starting point of satsal's COWC counting network as TorchScript.

Training happens in C++ (`satsal train-count CONFIG`, cowc/CountingTrainer.cpp); this script only
defines the architecture and saves it with a seeded random initialisation, so that the exact
starting point of the shipped demo model can be reproduced.

The network is a small ResNet (BasicBlocks, by default one per stage; the shipped v3 has two per
stage and widths 24,48,96,192) laid out with torchvision's child names - conv1, bn1, relu, maxpool,
layer1..layer4, avgpool, fc - so satsal's tap auto-detection
finds the five ends of scale (relu stride 2, layer1 stride 4, layer2 8, layer3 16, layer4 32) exactly
as for a torchvision ResNet. Counting is classification: the output has one logit per count class
(class index = number of cars, default 65 classes = counts 0..64).

Input: 1x3x224x224, RGB on [0,1] normalised with the ImageNet mean/std (the COWC margin colour
(123,117,104) is the ImageNet mean times 255, so the canvas border normalises to ~0). The central
192 px of a 256 px COWC patch is pasted centred in a 224 canvas filled with that colour
(cowc/CountingLayout.hpp).

Usage (Debian's python3-torch, /usr/bin/python3):
    /usr/bin/python3 tools/make_count_model.py --out models/cowc-count-init.pt \
        [--classes 65] [--widths 16,32,64,128] [--blocks 1,1,1,1] [--seed 1] [--grow-from MODEL.pt]
    /usr/bin/python3 tools/make_count_model.py --reference MODEL.pt
--grow-from starts the new network from a trained one that has at most its widths and blocks per
stage (Net2Net: a bigger network that computes the same function). Deeper: the added blocks keep
their fresh initialisation, whose last BN weight is zero, so each is the identity until training
moves it. Wider: each added channel copies a random trained channel of its stage (weights, BN
statistics) and the layer that reads the channels divides the copies' weights by their number;
then --grow-noise perturbs the added channels' weights so the copies can diverge. The script checks
that the grown network's logits equal the trained one's (before the noise) and prints the
difference before and after the noise.

The second form loads a (C++-trained) TorchScript file in PyTorch and prints, as JSON, its logits on
a fixed integer-pattern input (reference_input below). tests/model/test_counting_model.cpp computes
the same input in C++ and compares the logits with the ones stored in models/cowc-count-demo.json:
a model trained and saved by LibTorch must run identically in PyTorch.
"""
import argparse
import sys

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # Post-ReLU block output, as torchvision's blocks: the tap at the end of a stage is >= 0.
        return self.relu(out + self.downsample(x))


class CountNet(nn.Module):
    def __init__(self, classes: int, widths, blocks):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages = []
        in_channels = widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if index == 0 else 2
            layers = [BasicBlock(in_channels, width, stride)]
            layers += [BasicBlock(width, width, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            in_channels = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_channels, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # Zero the last BN of each residual branch: every block starts as identity, which makes
        # training from scratch stable at the high learning rates a short CPU run needs.
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def int_list(text, count, name):
    values = [int(v) for v in text.split(",")]
    if len(values) != count or min(values) < 1:
        sys.exit(f"--{name} needs {count} positive integers, got '{text}'")
    return values


def channel_maps(old_widths, new_widths, generator):
    """Net2WiderNet channel maps: new channel j of width index i copies old channel map[i][j]
    (itself for j < old width, a random old channel after); counts[i][c] = copies of old channel c."""
    maps, counts = [], []
    for old, new in zip(old_widths, new_widths):
        extra = torch.randint(old, (new - old,), generator=generator)
        mapping = torch.cat([torch.arange(old), extra])
        maps.append(mapping)
        counts.append(torch.bincount(mapping, minlength=old).float())
    return maps, counts


def widened(name, tensor, maps, counts):
    """The trained tensor `name` carried to the wider network: output channels copied by the map of
    their stage, input channels copied and divided by their number of copies (the sum a consumer
    sees is unchanged), so the wider network computes the same function."""
    parts = name.split(".")
    if name.endswith("num_batches_tracked"):
        return tensor
    if parts[0] in ("conv1", "bn1"):
        out_map, in_map = 0, None
    elif parts[0] == "fc":
        if parts[1] == "bias":
            return tensor
        return tensor.index_select(1, maps[3]) / counts[3][maps[3]].view(1, -1)
    else:
        stage = int(parts[0][len("layer"):]) - 1
        out_map = stage
        if parts[2] == "conv2":
            in_map = stage
        elif parts[2] in ("conv1", "downsample") and tensor.dim() == 4:
            # A stage's first block reads the previous stage's channels (layer1's, the stem's).
            in_map = stage - 1 if (parts[1] == "0" and stage > 0) else stage
        else:
            in_map = None
    result = tensor.index_select(0, maps[out_map])
    if in_map is not None:
        result = result.index_select(1, maps[in_map]) / counts[in_map][maps[in_map]].view(1, -1, 1, 1)
    return result


def grow(model, source_path, widths, noise, generator):
    """Starts model from the trained TorchScript model at source_path (same classes; widths and
    blocks per stage at least the source's): Net2Net growth that keeps the function."""
    source = torch.jit.load(source_path)
    source.eval()
    tensors = dict(source.named_parameters())
    tensors.update(dict(source.named_buffers()))
    old_widths = [tensors[f"layer{i + 1}.0.bn1.weight"].numel() for i in range(4)]
    if any(new < old for old, new in zip(old_widths, widths)):
        sys.exit(f"--grow-from {source_path}: its widths {old_widths} are wider than --widths {widths}")
    maps, counts = channel_maps(old_widths, widths, generator)
    target = dict(model.named_parameters())
    target.update(dict(model.named_buffers()))
    copied = 0
    for name, tensor in tensors.items():
        if name not in target:
            sys.exit(f"--grow-from {source_path}: tensor '{name}' has no place in the new network "
                     "(give at least as many --blocks per stage)")
        value = widened(name, tensor, maps, counts)
        if target[name].shape != value.shape:
            sys.exit(f"--grow-from {source_path}: tensor '{name}' becomes {tuple(value.shape)}, the new "
                     f"network's is {tuple(target[name].shape)} (give the same --classes)")
        with torch.no_grad():
            target[name].copy_(value)
        copied += 1
    x = reference_input()
    with torch.no_grad():
        difference = (model(x) - source(x)).abs().max().item()
    if difference > 1e-3:
        sys.exit(f"--grow-from {source_path}: the grown network's logits differ by {difference}")
    print(f"grown from {source_path} (widths {old_widths} -> {widths}): {copied} tensors carried, "
          f"logits equal within {difference:.2e}")
    if noise > 0 and widths != old_widths:
        # Copies of a channel get equal gradients and would stay copies: perturb the incoming
        # weights of the added channels (relative to each layer's weight spread).
        with torch.no_grad():
            for name, tensor in model.named_parameters():
                if tensor.dim() == 4 and name in tensors:
                    old_out = tensors[name].shape[0]
                    if tensor.shape[0] > old_out:
                        added = tensor[old_out:]
                        added.add_(torch.randn(added.shape, generator=generator) * noise * tensors[name].std())
            difference = (model(x) - source(x)).abs().max().item()
        print(f"symmetry-breaking noise {noise}: logits now differ by {difference:.2e}")


def make(args):
    torch.manual_seed(args.seed)
    model = CountNet(args.classes, int_list(args.widths, 4, "widths"), int_list(args.blocks, 4, "blocks"))
    model.eval()
    if args.grow_from:
        grow(model, args.grow_from, int_list(args.widths, 4, "widths"), args.grow_noise,
             torch.Generator().manual_seed(args.seed))
    scripted = torch.jit.script(model)
    scripted.save(args.out)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        shape = tuple(scripted(torch.zeros(1, 3, 224, 224)).shape)
    print(f"wrote {args.out}: classes={args.classes} widths={args.widths} blocks={args.blocks} "
          f"seed={args.seed} parameters={params} output={shape}")


def reference_input():
    """[1,3,224,224] float input defined by integers, so C++ rebuilds it bit for bit:
    x[0,c,h,w] = ((7*h + 3*w + 11*c) % 17) / 8 - 1."""
    c = torch.arange(3).view(3, 1, 1)
    h = torch.arange(224).view(1, 224, 1)
    w = torch.arange(224).view(1, 1, 224)
    return (((7 * h + 3 * w + 11 * c) % 17).float() / 8.0 - 1.0).unsqueeze(0)


def reference(args):
    import json
    model = torch.jit.load(args.reference)
    model.eval()
    with torch.no_grad():
        logits = model(reference_input())[0]
    print(json.dumps({"reference_input": "x[0,c,h,w] = ((7*h + 3*w + 11*c) % 17) / 8 - 1",
                      "logits": [round(float(v), 6) for v in logits],
                      "argmax": int(logits.argmax())}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="TorchScript file to write")
    parser.add_argument("--classes", type=int, default=65, help="count classes (counts 0..classes-1)")
    parser.add_argument("--widths", default="16,32,64,128", help="channels of layer1..layer4")
    parser.add_argument("--blocks", default="1,1,1,1", help="BasicBlocks in layer1..layer4")
    parser.add_argument("--seed", type=int, default=1, help="torch.manual_seed for the initialisation")
    parser.add_argument("--grow-from", help="trained TorchScript model, as wide or narrower, with as many "
                        "blocks or fewer: start from its function (Net2Net)")
    parser.add_argument("--grow-noise", type=float, default=0.01,
                        help="with --grow-from to wider stages: noise on the added channels' weights, "
                        "relative to each layer's weight spread")
    parser.add_argument("--reference", help="TorchScript model: print its logits on the reference input")
    args = parser.parse_args()
    if args.reference:
        reference(args)
    elif args.out:
        if args.classes < 2:
            sys.exit("--classes must be at least 2")
        make(args)
    else:
        parser.error("give --out (make a model) or --reference MODEL (print reference logits)")


if __name__ == "__main__":
    main()
