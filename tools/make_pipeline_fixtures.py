#!/usr/bin/python3
"""Write the small TorchScript fixtures used by tests/pipeline (whole-scene runs and explain).

Usage:
  /usr/bin/python3 tools/make_pipeline_fixtures.py [FIXTURES_DIR]
  (default: tests/fixtures/pipeline, relative to the repository root)

Both models have no parameters (a few KB each) and return a tuple (output, tap_1, ..., tap_5) with a
`tap_names` attribute, the tuple convention of model/TappedModel.hpp. Their taps sit at strides
2, 4, 8, 16, 32 like a ResNet's, but every tap is a chain of 2x2 average pools over a pointwise
function of the input, so a layer pixel depends only on the input pixels of its own stride x stride
footprint: receptive fields never cross the stride grid, and a tiled run must equal one whole-image
pass exactly (up to float rounding) for any margin. The tests recompute the taps independently from
these formulas (in double), so keep the formulas here and in tests/pipeline/test_support.hpp in step:

  footprint_net.pt  f(x) = [exp(x), exp(-x), 0.05 * (1 + x^2)] per input channel (9 channels, all > 0,
                    spread over orders of magnitude so that SMOE is large next to float rounding);
                    tap_k = average of f over the 2^k x 2^k footprint, k = 1..5;
                    output = mean of tap_5 over its pixels ([N, 9]).
  signed_net.pt     f(x) = 2 - x (3 channels); taps as above. Negative wherever a footprint's mean
                    standardized input exceeds 2 (bright pixels with ImageNet mean/std), so SMOE,
                    which needs non-negative activations, fails there and only there.
"""
import os
import sys
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

TAP_NAMES = ["s2", "s4", "s8", "s16", "s32"]


class FootprintNet(nn.Module):
    tap_names: List[str]

    def __init__(self):
        super().__init__()
        self.tap_names = list(TAP_NAMES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.exp(x), torch.exp(-x), 0.05 * (1.0 + x * x)], dim=1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor, torch.Tensor]:
        t1 = F.avg_pool2d(self.features(x), 2)
        t2 = F.avg_pool2d(t1, 2)
        t3 = F.avg_pool2d(t2, 2)
        t4 = F.avg_pool2d(t3, 2)
        t5 = F.avg_pool2d(t4, 2)
        return t5.mean(dim=(2, 3)), t1, t2, t3, t4, t5


class SignedNet(FootprintNet):
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 - x


def check(module: nn.Module, scripted: torch.jit.ScriptModule, what: str) -> None:
    x = torch.linspace(-2.5, 2.5, 2 * 3 * 64 * 64).reshape(2, 3, 64, 64)
    with torch.no_grad():
        eager = module(x)
        loaded = scripted(x)
    if len(loaded) != 6 or any(not torch.allclose(a, b) for a, b in zip(eager, loaded)):
        raise SystemExit(f"make_pipeline_fixtures.py: {what}: scripted and eager results differ")
    sizes = [t.shape[-1] for t in loaded[1:]]
    if sizes != [32, 16, 8, 4, 2]:
        raise SystemExit(f"make_pipeline_fixtures.py: {what}: unexpected tap sizes {sizes}")
    # The footprint property itself: tap_k is the plain mean of f over each 2^k block.
    f = module.features(x)
    for k, tap in enumerate(loaded[1:], start=1):
        direct = F.avg_pool2d(f, 2 ** k)
        if not torch.allclose(direct, tap, rtol=1e-5, atol=1e-6):
            raise SystemExit(f"make_pipeline_fixtures.py: {what}: tap {k} is not the footprint mean")


def main(argv: List[str]) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = argv[0] if argv else os.path.join(root, "tests", "fixtures", "pipeline")
    os.makedirs(out_dir, exist_ok=True)
    for name, module in [("footprint_net.pt", FootprintNet()), ("signed_net.pt", SignedNet())]:
        module.eval()
        path = os.path.join(out_dir, name)
        torch.jit.script(module).save(path)
        check(module, torch.jit.load(path), name)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
