"""Riemannian geometry of neural-network training.

Gauss-Newton and Levenberg-Marquardt dynamics of neural networks, seen as
Riemannian gradient flows on the output manifold (arXiv:2412.14031). The
geometry lives in the :mod:`manifolds` package. Here:

* :mod:`riemgn.networks`: the models whose output maps are studied;
* :mod:`riemgn.losses`: losses on their outputs;
* :mod:`riemgn.flows`: continuous-time dynamics (GN, LM, gradient flow and
  the intrinsic Riemannian flow), with :mod:`riemgn.damping` schedules;
* :mod:`riemgn.solvers`: discrete-time Gauss-Newton, Levenberg-Marquardt,
  gradient descent, pymanopt's Riemannian optimizers, and the optimal
  in-class risk;
* :mod:`riemgn.theory`: spectra, curvature, PL constants and rates;
* :mod:`riemgn.equivalence`: the GN flow against the Riemannian gradient flow.
"""

import importlib

#: Where each public name lives. They are imported on first use (PEP 562), so
#: that ``import riemgn`` and ``riemgn --version`` do not load numpy, scipy,
#: matplotlib and pymanopt.
_SUBMODULES = (
    "damping",
    "equivalence",
    "flows",
    "losses",
    "networks",
    "solvers",
    "theory",
)
_ORIGINS = {
    "Constant": "damping",
    "KernelTied": "damping",
    "ResidualProportional": "damping",
    "compare_trajectories": "equivalence",
    "velocity_residual": "equivalence",
    "FlowStatus": "flows",
    "Trajectory": "flows",
    "TrajectoryFormatError": "flows",
    "gauss_newton_flow": "flows",
    "gradient_flow": "flows",
    "levenberg_marquardt_flow": "flows",
    "riemannian_gradient_flow": "flows",
    "LogisticLoss": "losses",
    "PseudoHuberLoss": "losses",
    "SquaredLoss": "losses",
    "MLP": "networks",
    "TwoLayerNetwork": "networks",
    "SolverResult": "solvers",
    "SolverStatus": "solvers",
    "gauss_newton": "solvers",
    "gradient_descent": "solvers",
    "optimal_in_class_risk": "solvers",
    "levenberg_marquardt": "solvers",
    "riemannian_gradient_descent": "solvers",
    "riemannian_optimize": "solvers",
}


def __getattr__(name: str):
    """Import a public name of riemgn on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"riemgn.{name}")
    origin = _ORIGINS.get(name)
    if origin is None:
        raise AttributeError(f"module 'riemgn' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"riemgn.{origin}"), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


#: The installed version of riemgn.
__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Constant",
    "FlowStatus",
    "KernelTied",
    "LogisticLoss",
    "PseudoHuberLoss",
    "ResidualProportional",
    "SolverResult",
    "SolverStatus",
    "SquaredLoss",
    "Trajectory",
    "TrajectoryFormatError",
    "TwoLayerNetwork",
    "__version__",
    "compare_trajectories",
    "damping",
    "equivalence",
    "flows",
    "gauss_newton",
    "gauss_newton_flow",
    "gradient_descent",
    "gradient_flow",
    "levenberg_marquardt",
    "levenberg_marquardt_flow",
    "losses",
    "networks",
    "optimal_in_class_risk",
    "riemannian_gradient_descent",
    "riemannian_gradient_flow",
    "riemannian_optimize",
    "solvers",
    "theory",
    "velocity_residual",
]
