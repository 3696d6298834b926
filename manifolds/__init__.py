"""Geometry of the output manifold of a smooth map, as pymanopt manifolds.

The output map :math:`F(\\theta) = (f(x_1;\\theta), \\dots, f(x_n;\\theta))` of a
model with fewer parameters than samples is, where it is an immersion, an
embedded submanifold of the output space :math:`\\mathbb{R}^n`.
:class:`OutputManifold` gives it to pymanopt: projection, retractions,
metric, Weingarten map, exp/log and transport.

The modules, lowest first: :mod:`manifolds.validation` (argument checks,
overflow-safe arithmetic), :mod:`manifolds.linalg` (every factorization of
a Jacobian and the one rank test), :mod:`manifolds.output_map`,
:mod:`manifolds.autograd_map` and :mod:`manifolds.jax_map` (the map :math:`F`),
:mod:`manifolds.geodesics`, :mod:`manifolds.output_manifold` (the geometry,
with its derivations) and :mod:`manifolds.checks` (numerical checks of it).

This package depends on numpy, scipy and pymanopt only (``autograd`` is
imported lazily by :class:`AutogradOutputMap`, and ``jax`` by
:class:`JaxOutputMap`, only when one is built), and never imports
:mod:`riemgn`.
"""

from manifolds.autograd_map import AutogradOutputMap
from manifolds.checks import (
    CheckVerdict,
    ManifoldCheckResult,
    TaylorCheck,
    check_manifold,
    fit_loglog_slope,
)
from manifolds.exceptions import (
    GeodesicError,
    ManifoldError,
    NotAnImmersionError,
    NotOnManifoldError,
    OutsideBallError,
)
from manifolds.jax_map import JaxOutputMap
from manifolds.output_manifold import OutputManifold, RankInfo, jacobian_rank
from manifolds.output_map import OutputMap

__all__ = [
    "AutogradOutputMap",
    "GeodesicError",
    "JaxOutputMap",
    "CheckVerdict",
    "ManifoldCheckResult",
    "ManifoldError",
    "NotAnImmersionError",
    "NotOnManifoldError",
    "OutputManifold",
    "OutputMap",
    "OutsideBallError",
    "RankInfo",
    "TaylorCheck",
    "check_manifold",
    "fit_loglog_slope",
    "jacobian_rank",
]
