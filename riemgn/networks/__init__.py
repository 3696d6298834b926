r"""Network models whose output maps implement :class:`manifolds.OutputMap`.

* :class:`riemgn.networks.TwoLayerNetwork`: the paper's two-layer network
  with fixed :math:`\pm 1` output weights (THEORY §1), with analytic
  derivatives and a closed-form neural tangent kernel
  (:class:`riemgn.networks.TwoLayerOutputMap`).
* :class:`riemgn.networks.MLP`: a deep scalar-output network in NTK
  parametrization, differentiated by autograd.
* :class:`riemgn.networks.Activation`, :func:`riemgn.networks.get_activation`,
  :data:`riemgn.networks.ACTIVATIONS`: smooth activations with closed-form
  first and second derivatives.
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
