r"""Continuous-time dynamics: parameter-space flows and the intrinsic Riemannian flow.

* :func:`gauss_newton_flow`, :func:`levenberg_marquardt_flow` and
  :func:`gradient_flow` integrate ODEs for the parameters :math:`\theta`;
* :func:`riemannian_gradient_flow` integrates :math:`u' = -\operatorname{grad}
  h(u)` on an :class:`~manifolds.OutputManifold` using only the manifold's
  interface.

Every flow returns a :class:`Trajectory` whose :class:`FlowStatus` says how
it ended.
"""

from riemgn.damping import Constant, DampingState, KernelTied, ResidualProportional
from riemgn.flows.intrinsic import SCHEMES, riemannian_gradient_flow
from riemgn.flows.parameter import (
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
)
from riemgn.flows.trajectory import FLOW_MESSAGES, FlowStatus, Trajectory

__all__ = [
    "FLOW_MESSAGES",
    "Constant",
    "DampingState",
    "FlowStatus",
    "KernelTied",
    "ResidualProportional",
    "SCHEMES",
    "Trajectory",
    "gauss_newton_flow",
    "gradient_flow",
    "levenberg_marquardt_flow",
    "riemannian_gradient_flow",
]
