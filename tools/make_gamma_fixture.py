#!/usr/bin/python3
"""Write tests/fixtures/gamma: ResNet-50 SMOE layer maps and their Gamma normalization as the
reference implementation (LLNL/fastcam, norm.py GammaNorm2D) computes it, with its incomplete-gamma
series replaced by a correct regularized lower incomplete gamma.

Usage:
  /usr/bin/python3 tools/make_gamma_fixture.py [OUT_DIR]     (default: tests/fixtures/gamma)

Maps: torchvision ResNet-50 with random weights (torch.manual_seed(0), as tools/export_model.py
builds it), eval mode, two synthetic inputs (96x96 and 128x96, ImageNet-standardized), taps relu,
layer1..layer4; SMOE Scale per pixel over channels with eps = 1e-6 (paper Eq. 2), in float32.

The reference normalization per map, in float64 (facts from fastcam's source):
  y = x - min(x) + 1e-7;  e = 1e-7
  s = ln(mean(y + e)) - mean(ln(y + e))
  k = (3 - s + sqrt((s - 3)^2 + 24 s)) / (12 s) + e
  10 x  k <- k - (ln k - digamma(k) - s) / (1/k - trigamma(k))
  k = clamp(k, e, 18);  theta = mean(y + e) / k
  value = P(k, y / theta)  (torch.special.gammainc);  non-finite -> 0
fastcam computes in float32 and its trigamma is an asymptotic approximation; neither moves the
Newton root noticeably (the script prints the float32 difference). fastcam's own CDF (an 8-term
series of the lower incomplete gamma) is also evaluated, only to print where it breaks the order.

Files (little-endian float32, row-major, maps in the order of the manifest):
  manifest.txt  one line per map: input layer width height s k theta (the reference fit)
  raw.f32       the SMOE maps
  gamma.f32     the reference normalization of each map
Scipy is not needed (Debian's python3-torch has gammainc, digamma, polygamma).
"""
import math
import os
import sys

import torch
import torchvision

EPS = 1e-7
SMOE_EPS = 1e-6
TAPS = ["relu", "layer1", "layer2", "layer3", "layer4"]
SIZES = [(96, 96), (128, 96)]  # (width, height)


def synthetic_inputs():
    """Two deterministic images with structure (smooth noise, edges, a bright blob), [1, 3, H, W]."""
    gen = torch.Generator().manual_seed(17)
    images = []
    for index, (w, h) in enumerate(SIZES):
        yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
        noise = torch.rand(1, 3, h // 8, w // 8, generator=gen)
        smooth = torch.nn.functional.interpolate(noise, size=(h, w), mode="bilinear", align_corners=False)
        img = 0.6 * smooth
        img[:, 0] += 0.3 * (xx > 0.4 + 0.1 * index).float()
        img[:, 1] += 0.3 * torch.exp(-((xx - 0.7) ** 2 + (yy - 0.3) ** 2) / 0.01)
        img[:, 2] += 0.2 * torch.sin(12 * yy + 5 * xx * index)
        img = img.clamp(0, 1)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        images.append((img - mean) / std)
    return images


def smoe_maps(model, image):
    maps = []
    x = image
    with torch.no_grad():
        for name, child in model.named_children():
            if name in ("avgpool", "fc"):
                break
            x = child(x)
            if name in TAPS:
                a = x[0] + SMOE_EPS
                m = a.mean(dim=0)
                maps.append(m * (torch.log2(m) - torch.log2(a).mean(dim=0)))
    assert len(maps) == len(TAPS)
    return maps


def trigamma(k):
    return torch.polygamma(1, k)


def reference_fit(x, dtype=torch.float64):
    """fastcam's GammaNorm2D fit of one flattened map (x: 1-D tensor); returns s, k, theta, y."""
    x = x.to(dtype)
    y = x - x.min() + EPS
    ye = y + EPS
    s = torch.log(ye.mean()) - torch.log(ye).mean()
    k = (3.0 - s + torch.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s) + EPS
    for _ in range(10):
        k = k - (torch.log(k) - torch.digamma(k) - s) / (1.0 / k - trigamma(k))
    k = torch.clamp(k, EPS, 18.0)
    theta = ye.mean() / k
    return s, k, theta, y


def reference_gamma(x):
    s, k, theta, y = reference_fit(x)
    value = torch.special.gammainc(k.expand_as(y), y / theta)
    value = torch.where(torch.isfinite(value), value, torch.zeros_like(value))
    return s, k, theta, value


def fastcam_series_cdf(k, z):
    """fastcam's CDF: gamma(k, z) by 8 terms of z^k e^-z sum z^n / Gamma(k + n + 1), over Gamma(k)."""
    terms = sum(z ** n / math.gamma(k + n + 1) for n in range(8))
    return z ** k * math.exp(-z) * terms if z > 0 else 0.0


def monotone_violations(raw, normalized):
    order = torch.argsort(raw)
    r, v = raw[order], normalized[order]
    # raw strictly increasing while the normalized value strictly decreases
    return int(((r[1:] > r[:-1]) & (v[1:] < v[:-1])).sum())


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "gamma")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    lines, raws, values = [], [], []
    for index, image in enumerate(synthetic_inputs()):
        for layer, smap in enumerate(smoe_maps(model, image)):
            raw = smap.to(torch.float32).contiguous()
            flat = raw.flatten().to(torch.float64)  # exactly the stored float32 values
            s, k, theta, value = reference_gamma(flat)
            _, k32, theta32, _ = reference_fit(raw.flatten(), torch.float32)
            z_max = float((flat.max() - flat.min() + EPS) / theta)
            series = torch.tensor([fastcam_series_cdf(float(k), float(z))
                                   for z in ((flat - flat.min() + EPS) / theta).tolist()])
            print(f"input {index} L{layer + 1} {raw.shape[1]}x{raw.shape[0]}: s {float(s):.6g} k {float(k):.6g} "
                  f"(float32 {float(k32):.6g}) theta {float(theta):.6g} max x/theta {z_max:.3g}; "
                  f"order violations: fixed CDF {monotone_violations(flat, value)}, "
                  f"8-term series {monotone_violations(flat, series)} "
                  f"(max |series - fixed| {float((series - value).abs().max()):.3g})")
            lines.append(f"{index} {layer + 1} {raw.shape[1]} {raw.shape[0]} {float(s):.17g} {float(k):.17g} "
                         f"{float(theta):.17g}")
            raws.append(raw.flatten())
            values.append(value.to(torch.float32))
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("# input layer width height s k theta  (tools/make_gamma_fixture.py)\n")
        f.write("\n".join(lines) + "\n")
    torch.cat(raws).numpy().astype("<f4").tofile(os.path.join(out_dir, "raw.f32"))
    torch.cat(values).numpy().astype("<f4").tofile(os.path.join(out_dir, "gamma.f32"))
    print(f"wrote {len(lines)} maps to {out_dir}")


if __name__ == "__main__":
    main()
