"""The errors raised by the geometry layer.

Each one is raised with a message that names the quantity, its value and
what to do about it. All derive from :class:`ManifoldError`, and those that
describe bad input also derive from :class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "GeodesicError",
    "ManifoldError",
    "NotAnImmersionError",
    "NotOnManifoldError",
    "OutsideBallError",
]


class ManifoldError(Exception):
    """Base class of the errors raised by :mod:`manifolds`."""


class NotAnImmersionError(ManifoldError, ValueError):
    """The Jacobian :math:`J(\\theta)` is rank-deficient where an immersion is required."""


class NotOnManifoldError(ManifoldError, ValueError):
    """A vector given as a point is not on the output manifold."""


class OutsideBallError(ManifoldError, ValueError):
    r"""A chart left the ball :math:`B(\theta_0, \rho)` on which the manifold is defined."""


class GeodesicError(ManifoldError, RuntimeError):
    """A geodesic initial or boundary value problem could not be solved."""
