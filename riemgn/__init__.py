"""Riemannian geometry of neural-network training.

Gauss-Newton and Levenberg-Marquardt dynamics of neural networks, seen as
Riemannian gradient flows on the output manifold (arXiv:2412.14031). The
geometry lives in the :mod:`manifolds` package; :mod:`riemgn.networks` holds
the models whose output maps it studies and :mod:`riemgn.losses` the losses
on their outputs.
"""

from riemgn import losses, networks
from riemgn.losses import SquaredLoss
from riemgn.networks import MLP, TwoLayerNetwork

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "SquaredLoss",
    "TwoLayerNetwork",
    "__version__",
    "losses",
    "networks",
]
