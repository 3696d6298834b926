r"""Continuous-time dynamics: parameter-space flows and the intrinsic Riemannian flow.

The three parameter-space flows of THEORY §3, and what they do to the
outputs :math:`u = F(\theta)`:

.. math::

    \text{GN:}\quad \theta' = -\tfrac1c J^+\nabla h,\ \
        u' = -\grad h(u); \qquad
    \text{LM:}\quad \theta' = -J^\T(K + \lambda_t I)^{-1}\nabla h,\ \
        u' = -K(K + \lambda_t I)^{-1}\nabla h; \qquad
    \text{GD:}\quad \theta' = -J^\T\nabla h,\ \ u' = -K\nabla h,

where :math:`J = DF(\theta)`, :math:`K = JJ^\T`, :math:`c` is the metric
weight and :math:`\grad h(u) = \tfrac1c P_u\nabla h(u)`.

* :func:`riemgn.flows.gauss_newton_flow`,
  :func:`riemgn.flows.levenberg_marquardt_flow` and
  :func:`riemgn.flows.gradient_flow` integrate ODEs for the parameters
  :math:`\theta`;
* :func:`riemgn.flows.riemannian_gradient_flow` integrates
  :math:`u' = -\operatorname{grad} h(u)` on an
  :class:`~manifolds.OutputManifold` using only the manifold's interface.

Every flow returns a :class:`riemgn.flows.Trajectory` whose
:class:`riemgn.flows.FlowStatus` says how it ended; every value it records
is finite. A flow at rest (its loss no longer decreasing, ``ftol = 0`` by
default) ends with ``converged``, so a long ``t_span`` costs nothing once
nothing changes. A trajectory that breaks the schema, built or loaded,
raises :class:`riemgn.flows.TrajectoryFormatError`. The damping schedules of
:mod:`riemgn.dynamics.damping` are re-exported here.
"""

from riemgn.dynamics.damping import (
    Constant,
    DampingState,
    KernelTied,
    ResidualProportional,
)
from riemgn.dynamics.flows.intrinsic import SCHEMES, riemannian_gradient_flow
from riemgn.dynamics.flows.parameter import (
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
)
from riemgn.dynamics.flows.trajectory import (
    FLOW_MESSAGES,
    FlowStatus,
    Trajectory,
    TrajectoryFormatError,
)

__all__ = [
    "FLOW_MESSAGES",
    "Constant",
    "DampingState",
    "FlowStatus",
    "KernelTied",
    "ResidualProportional",
    "SCHEMES",
    "Trajectory",
    "TrajectoryFormatError",
    "gauss_newton_flow",
    "gradient_flow",
    "levenberg_marquardt_flow",
    "riemannian_gradient_flow",
]
