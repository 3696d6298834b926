"""Riemannian geometry of neural-network training.

Gauss-Newton and Levenberg-Marquardt dynamics of neural networks, seen as
Riemannian gradient flows on the output manifold (arXiv:2412.14031). The
geometry lives in the :mod:`manifolds` package. Here:

* :mod:`riemgn.networks`: the models whose output maps are studied;
* :mod:`riemgn.losses`: losses on their outputs;
* :mod:`riemgn.flows`: continuous-time dynamics (GN, LM, gradient flow and
  the intrinsic Riemannian flow), with :mod:`riemgn.damping` schedules;
* :mod:`riemgn.solvers`: discrete-time Gauss-Newton, Levenberg-Marquardt and
  Riemannian gradient descent;
* :mod:`riemgn.theory`: spectra, curvature, PL constants, rates and the
  optimal in-class risk;
* :mod:`riemgn.equivalence`: the GN flow against the Riemannian gradient flow.
"""

from riemgn import damping, equivalence, flows, losses, networks, solvers, theory
from riemgn.damping import Constant, KernelTied, ResidualProportional
from riemgn.equivalence import compare_trajectories, velocity_residual
from riemgn.flows import (
    FlowStatus,
    Trajectory,
    TrajectoryFormatError,
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
    riemannian_gradient_flow,
)
from riemgn.losses import LogisticLoss, PseudoHuberLoss, SquaredLoss
from riemgn.networks import MLP, TwoLayerNetwork
from riemgn.solvers import (
    SolverResult,
    SolverStatus,
    gauss_newton,
    levenberg_marquardt,
    riemannian_gradient_descent,
)

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
    "gradient_flow",
    "levenberg_marquardt",
    "levenberg_marquardt_flow",
    "losses",
    "networks",
    "riemannian_gradient_descent",
    "riemannian_gradient_flow",
    "solvers",
    "theory",
    "velocity_residual",
]
