"""Sweep specifications and helpers shared by the sweep and Dask tests."""

from __future__ import annotations

import json
import pathlib

# 4 solvers-and-widths x 3 conditions x 2 seeds = 24 points.
SPEC_24 = """
experiment = "solver"
description = "24 cheap points"
seeds = [0, 1]

[options]
n = 12
target = 1e-6
max_iter = 200

[grid]
solver = ["gauss_newton", "levenberg_marquardt"]
width = [1, 2]
input_condition = {start = 1.0, stop = 100.0, num = 3, log = true}
"""


def without_times(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def table(out: pathlib.Path):
    lines = (out / "results.jsonl").read_text().splitlines()
    return without_times([json.loads(line) for line in lines])


SLOW = """
experiment = "solver"
seeds = {start = 0, stop = 12}
[options]
n = 200
d = 5
width = 4
solver = "gradient_descent"
target = 1e-12
max_iter = 2500
"""
