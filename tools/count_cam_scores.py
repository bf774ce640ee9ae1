#!/usr/bin/python3
"""Grad-CAM of a COWC counting network under three scores, per counting window (analysis tool).

Why does Grad-CAM of the counting network come out darker on cars than elsewhere when the score is
the logit of the predicted count (satsal's `class = predicted`)? This script takes each 192 px
counting window of an annotated scene in the COWC layout (224 px canvas of the mean colour,
cowc/CountingLayout.hpp), computes Grad-CAM on layer4 (for a network that ends in global average
pooling and one linear layer, the Grad-CAM weights of a score s are d s / d pooled feature / HW),
upsamples it bilinearly to the canvas, and prints the saliency-on-cars ratio (mean within 6 px of
an annotated car / mean farther than 20 px from every car, satsal's run.json measure) of three
scores, over all windows and split by predicted count 0 or >= 1:

  logit           z_k of the predicted count k (what satsal scores)
  logit-centered  z_k - mean_j z_j (softmax is unchanged by adding a vector to every row of the
                  last layer, so the sign of z_k's gradient is not determined by the model alone)
  expected-count  E[n] = sum_j j softmax_j (what raises the count)

Windows do not overlap and are not blended (satsal blends four phases). Python stays in tools/:
this is an analysis, not part of a run.

usage: /usr/bin/python3 tools/count_cam_scores.py MODEL.pt SCENE.png ANNOTATED_CARS.png
"""
import sys

import numpy as np
import torch
from torchvision.io import read_image

CORE, CANVAS, OFFSET = 192, 224, 16
NEAR, FAR = 6, 20


def car_masks(cars, height, width):
    near = np.zeros((height, width), bool)
    far = np.ones((height, width), bool)
    yy, xx = np.mgrid[0:height, 0:width]
    for y, x in cars:
        y0, y1, x0, x1 = max(0, y - FAR), min(height, y + FAR + 1), max(0, x - FAR), min(width, x + FAR + 1)
        d2 = (yy[y0:y1, x0:x1] - y) ** 2 + (xx[y0:y1, x0:x1] - x) ** 2
        near[y0:y1, x0:x1] |= d2 <= NEAR * NEAR
        far[y0:y1, x0:x1] &= ~(d2 <= FAR * FAR)
    return near, far


def layer4(model, x):
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(h))))[0]


def main(model_path, scene_path, cars_path):
    torch.set_num_threads(1)
    model = torch.jit.load(model_path).eval()
    image = read_image(scene_path)[:3].float() / 255
    cars = (read_image(cars_path)[0] > 0).nonzero().numpy()
    height, width = image.shape[1:]
    near, far = car_masks(cars, height, width)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    fc = model.fc.weight.detach()
    counts = torch.arange(fc.shape[0], dtype=torch.float32)
    sums = {}
    predicted = []
    for r in range(0, height, CORE):
        for c in range(0, width, CORE):
            core = image[:, r:r + CORE, c:c + CORE]
            canvas = mean.expand(3, CANVAS, CANVAS).clone()
            canvas[:, OFFSET:OFFSET + core.shape[1], OFFSET:OFFSET + core.shape[2]] = core
            with torch.no_grad():
                a = layer4(model, ((canvas - mean) / std).unsqueeze(0))
                logits = model.fc(a.mean((1, 2)))
            k = int(logits.argmax())
            predicted.append(k)
            p = logits.softmax(0)
            expected = (p * counts).sum()
            weights = {"logit": fc[k], "logit-centered": fc[k] - fc.mean(0),
                       "expected-count": ((p * (counts - expected))[:, None] * fc).sum(0)}
            n, f = near[r:r + CORE, c:c + CORE], far[r:r + CORE, c:c + CORE]
            for name, w in weights.items():
                cam = torch.relu((w[:, None, None] * a).sum(0))
                up = torch.nn.functional.interpolate(cam[None, None], size=(CANVAS, CANVAS), mode="bilinear",
                                                     align_corners=False)[0, 0]
                up = up[OFFSET:OFFSET + core.shape[1], OFFSET:OFFSET + core.shape[2]].numpy()
                for group in ("all", "count 0" if k == 0 else "count >= 1"):
                    s = sums.setdefault((name, group), np.zeros(4))
                    s += (up[n].sum(), n.sum(), up[f].sum(), f.sum())
    print(f"{len(predicted)} windows, {sum(1 for k in predicted if k == 0)} predicted 0 cars")
    print(f"{'score':16} {'windows':12} saliency on cars")
    for (name, group), s in sorted(sums.items()):
        ratio = (s[0] / max(1, s[1])) / (s[2] / max(1, s[3])) if s[2] > 0 else float("nan")
        print(f"{name:16} {group:12} {ratio:.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(*sys.argv[1:])
