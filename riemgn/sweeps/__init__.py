"""Declarative experiment sweeps: a TOML grid, durable records, resume.

``riemgn sweep run SPEC.toml --out DIR`` (or :func:`run_sweep`) runs every
point of a grid of a registered experiment (:data:`EXPERIMENTS`), writes one
record per finished point and rebuilds ``results.jsonl`` and
``results.csv`` from them; ``--resume`` finishes an interrupted sweep.
``riemgn sweep report DIR`` (:func:`sweep_report`) draws its figures.

Examples
--------
>>> import tempfile
>>> from riemgn.sweeps import parse_spec, run_sweep
>>> spec = parse_spec('''
... experiment = "solver"
... seeds = [0]
... [options]
... n = 12
... target = 1e-4
... [grid]
... solver = ["gauss_newton", "gradient_descent"]
... ''')
>>> result = run_sweep(spec, tempfile.mkdtemp(), progress=False)
>>> [r["config"]["solver"] for r in result.records]
['gauss_newton', 'gradient_descent']
"""

from riemgn.sweeps.experiments import EXPERIMENTS, Experiment, Parameter
from riemgn.sweeps.report import sweep_report
from riemgn.sweeps.runner import SweepResult, run_point, run_sweep
from riemgn.sweeps.spec import (
    Point,
    SpecError,
    SweepSpec,
    load_spec,
    parse_spec,
    point_key,
)

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Parameter",
    "Point",
    "SpecError",
    "SweepResult",
    "SweepSpec",
    "load_spec",
    "parse_spec",
    "point_key",
    "run_point",
    "run_sweep",
    "sweep_report",
]
