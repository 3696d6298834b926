"""The errors raised by the geometry layer.

Each one is raised with a message that names the quantity, its value and
what to do about it. All derive from :class:`~manifolds.ManifoldError`, and
those that describe bad input also derive from :class:`ValueError`.

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \\tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GeodesicError",
    "KrylovConvergenceError",
    "ManifoldError",
    "NotAnImmersionError",
    "NotOnManifoldError",
    "OutsideBallError",
]


class ManifoldError(Exception):
    """Base class of the errors raised by :mod:`manifolds`.

    Catch it to handle every geometric failure at once: a chart that leaves
    its ball, a rank-deficient Jacobian, a vector off the manifold or a
    geodesic that cannot be computed.

    Examples
    --------
    A step that leaves the chart domain, caught through the base class:

    >>> from manifolds import ManifoldError
    >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), radius=1.0)
    >>> try:
    ...     manifold.point(np.array([2.0, 0.0]))
    ... except ManifoldError as error:
    ...     print(type(error).__name__)
    OutsideBallError
    """


class NotAnImmersionError(ManifoldError, ValueError):
    r"""The Jacobian :math:`J(\theta)` is rank-deficient where an immersion is required.

    The output manifold exists only where :math:`\operatorname{rank} J(\theta)
    = p`. The numerical rank counts the singular values of :math:`J` above
    ``rank_rtol`` times the largest. The usual causes are parameters that act
    only together (the symmetric initialization of a two-layer network, whose
    paired neurons cancel), duplicate inputs, dead or saturated neurons, or
    more parameters than outputs (:math:`p > n`).

    Examples
    --------
    Two parameters that enter only through their sum give
    :math:`\operatorname{rank} J = 1 < p = 2`:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> x = np.linspace(-1.0, 1.0, 6)
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(x * (w[0] + w[1])), n_params=2)
    >>> OutputManifold(output_map, np.array([0.3, -0.2]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    manifolds.exceptions.NotAnImmersionError: J(theta) is rank-deficient: numerical rank 1 < n_params = 2 ...
    """


class NotOnManifoldError(ManifoldError, ValueError):
    """A vector given as a point is not on the output manifold.

    A vector that the manifold did not produce itself is lifted by solving
    :math:`F(\\theta) = u` by least squares; when the residual stays above
    the manifold's ``point_rtol`` tolerance, the vector is not a point.

    Examples
    --------
    Outputs of ``tanh`` lie in :math:`(-1, 1)^n`, so a vector of 2s is not a
    point:

    >>> manifold.lift(np.full(6, 2.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    manifolds.exceptions.NotOnManifoldError: `point` is not on the manifold: ...
    """


class OutsideBallError(ManifoldError, ValueError):
    r"""A chart left the ball :math:`B(\theta_0, \rho)` on which the manifold is defined.

    Raised by points, retractions and geodesics whose parameters
    :math:`\theta` fall outside :math:`\|\theta - \theta_0\| \le \rho`, where
    :math:`\rho` is the manifold's ``radius``.

    Examples
    --------
    >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), radius=1.0)
    >>> manifold.point(np.array([2.0, 0.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    manifolds.exceptions.OutsideBallError: `params` leaves the ball of the manifold: |theta - theta0| = 1.71172 > radius = 1; ...
    """


class GeodesicError(ManifoldError, RuntimeError):
    """A geodesic initial or boundary value problem could not be solved.

    The integrator failed or ran out of its evaluation budget, the chart
    degenerated along the way (the parameter speed grew ``max_stretch``-fold
    while the output speed stayed constant), or shooting did not converge.

    Examples
    --------
    A geodesic heading into the saturated region of ``tanh``, where
    :math:`J` loses conditioning, stops with an error rather than grinding on:

    >>> from manifolds.geodesics import solve_geodesic
    >>> solve_geodesic(
    ...     output_map, np.array([0.3, -0.2]), np.array([3.0, -2.0]), max_stretch=2.0
    ... )  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    manifolds.exceptions.GeodesicError: the chart degenerates along the geodesic: ...
    """


class KrylovConvergenceError(np.linalg.LinAlgError):
    r"""A matrix-free (Krylov) solve missed its tolerance within its iterations.

    Raised by the solves of :class:`manifolds.linalg.KrylovFactorization`
    and :class:`manifolds.linalg.KrylovKernelFactorization`. A subclass of
    ``numpy.linalg.LinAlgError``, so the flows and solvers turn it into a
    status like any failed factorization. Raise ``maxiter`` or ``tol``.

    Parameters
    ----------
    iterations : int
        The Krylov iterations run.
    residual : float
        The relative residual reached.
    tolerance : float
        The tolerance it missed.

    Examples
    --------
    >>> from manifolds.exceptions import KrylovConvergenceError
    >>> print(KrylovConvergenceError(2, 3.5e-4, 1e-12))
    the Krylov solve did not converge: relative residual 3.500e-04 > tol = 1.000e-12 after 2 iterations; raise `maxiter` or `tol`
    """

    def __init__(self, iterations: int, residual: float, tolerance: float):
        self.iterations = iterations
        self.residual = residual
        self.tolerance = tolerance
        super().__init__(
            f"the Krylov solve did not converge: relative residual {residual:.3e} > "
            f"tol = {tolerance:.3e} after {iterations} iterations; raise `maxiter` or `tol`"
        )
