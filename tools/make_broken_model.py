#!/usr/bin/env python3
"""Writes tests/fixtures/nan_resnet.pt: tests/fixtures/tiny_resnet.pt with every parameter set to
NaN, for the hostile-input suite (a broken model must be reported as broken, not as a tap or
statistic problem).

usage: /usr/bin/python3 tools/make_broken_model.py [SOURCE_DIR]
"""
import os
import sys

import torch

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
model = torch.jit.load(os.path.join(root, "tests", "fixtures", "tiny_resnet.pt"))
with torch.no_grad():
    for parameter in model.parameters():
        parameter.fill_(float("nan"))
model.save(os.path.join(root, "tests", "fixtures", "nan_resnet.pt"))
