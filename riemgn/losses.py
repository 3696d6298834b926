r"""Losses on outputs :math:`h: \mathbb{R}^n \to \mathbb{R}`.

A loss is a function of the output vector :math:`u = F(\theta)` only, so that
the same object serves the parameter-space dynamics (through
:math:`J^\top \nabla h`) and the Riemannian ones on the output manifold
(through :math:`\operatorname{grad} h = \tfrac1c P_u \nabla h`).

Each loss validates its targets once, at construction, and each call checks
the shape and finiteness of :math:`u`.
"""

from __future__ import annotations

import numpy as np

from manifolds._validation import as_finite_vector

__all__ = ["SquaredLoss"]


class SquaredLoss:
    r"""The squared loss :math:`h(u) = \tfrac{s}{2}\|u - y\|^2`.

    .. math::

        h(u) = \frac{s}{2}\|u - y\|^2, \qquad \nabla h(u) = s(u - y),
        \qquad \nabla^2 h(u) = s I,

    where :math:`s = 1`, or :math:`s = 1/n` when ``mean=True``.

    Its unconstrained minimum is :math:`0`, at :math:`u = y`. On an output
    manifold the minimum is the optimal in-class risk, which only a solver
    can find (the squared distance from :math:`y` to :math:`M`).

    Parameters
    ----------
    y : ndarray, shape (n,)
        The targets, finite, with :math:`n \ge 1`.
    mean : bool, default False
        Average over the samples instead of summing.

    Raises
    ------
    ValueError
        If ``y`` is not a finite 1-d array with at least one entry.
    TypeError
        If ``mean`` is not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> loss = SquaredLoss(np.array([1.0, 2.0]))
    >>> loss.value(np.array([1.0, 0.0]))
    2.0
    >>> loss.gradient(np.array([1.0, 0.0]))
    array([ 0., -2.])
    """

    def __init__(self, y, *, mean: bool = False):
        self._y = as_finite_vector("y", y).copy()
        if self._y.size == 0:
            raise ValueError(
                f"`y` must have at least one entry, got shape {self._y.shape}"
            )
        self._y.flags.writeable = False
        if not isinstance(mean, bool):
            raise TypeError(f"`mean` must be a bool, got {mean!r}")
        self._mean = mean
        self._scale = 1.0 / self._y.size if mean else 1.0

    @property
    def y(self) -> np.ndarray:
        """The targets (read-only)."""
        return self._y

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n`."""
        return self._y.size

    @property
    def minimum(self) -> float:
        """The unconstrained minimum, 0 (at ``u = y``)."""
        return 0.0

    def _outputs(self, u) -> np.ndarray:
        return as_finite_vector("u", u, self._y.size)

    def value(self, u) -> float:
        r""":math:`h(u)`.

        Parameters
        ----------
        u : ndarray, shape (n,)

        Returns
        -------
        float
        """
        residual = self._outputs(u) - self._y
        return 0.5 * self._scale * float(residual @ residual)

    def gradient(self, u) -> np.ndarray:
        r""":math:`\nabla h(u) = s(u - y)`, shape ``(n,)``."""
        return self._scale * (self._outputs(u) - self._y)

    def hessian_vector(self, u, v) -> np.ndarray:
        r""":math:`\nabla^2 h(u) v = s v`, shape ``(n,)``."""
        self._outputs(u)
        return self._scale * as_finite_vector("v", v, self._y.size)

    def problem(self, manifold):
        """This loss as a :class:`pymanopt.Problem` on ``manifold`` (numpy backend).

        Parameters
        ----------
        manifold : pymanopt.manifolds.manifold.Manifold
            A manifold whose points are output vectors of shape ``(n,)``, such
            as :class:`manifolds.OutputManifold`.

        Returns
        -------
        pymanopt.Problem
        """
        import pymanopt

        dimension = getattr(manifold, "ambient_dim", self._y.size)
        if dimension != self._y.size:
            raise ValueError(
                f"the manifold's points have {dimension} outputs but `y` has "
                f"{self._y.size}"
            )

        @pymanopt.function.numpy(manifold)
        def cost(u):
            return self.value(u)

        @pymanopt.function.numpy(manifold)
        def euclidean_gradient(u):
            return self.gradient(u)

        @pymanopt.function.numpy(manifold)
        def euclidean_hessian(u, v):
            return self.hessian_vector(u, v)

        return pymanopt.Problem(
            manifold,
            cost,
            euclidean_gradient=euclidean_gradient,
            euclidean_hessian=euclidean_hessian,
        )

    def __repr__(self) -> str:
        return f"SquaredLoss(n={self._y.size}, mean={self._mean})"
