"""Network models whose output maps implement :class:`manifolds.OutputMap`.

* :class:`TwoLayerNetwork`: the paper's two-layer network with fixed
  :math:`\\pm 1` output weights, with analytic derivatives
  (:class:`TwoLayerOutputMap`).
* :class:`MLP`: a deep scalar-output network in NTK parametrization,
  differentiated by autograd.
* :class:`Activation`, :func:`get_activation`, :data:`ACTIVATIONS`: smooth
  activations with closed-form first and second derivatives.
"""

from riemgn.networks.activations import ACTIVATIONS, Activation, get_activation
from riemgn.networks.mlp import MLP
from riemgn.networks.two_layer import TwoLayerNetwork, TwoLayerOutputMap

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Activation",
    "TwoLayerNetwork",
    "TwoLayerOutputMap",
    "get_activation",
]
