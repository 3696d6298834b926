r"""Losses on outputs :math:`h: \mathbb{R}^n \to \mathbb{R}`.

A loss is a function of the output vector :math:`u = F(\theta)` only, so that
the same object serves the parameter-space dynamics (through
:math:`J^\top \nabla h`) and the Riemannian ones on the output manifold
(through :math:`\operatorname{grad} h = \tfrac1c P_u \nabla h`).

Every loss here is smooth, convex and separable,
:math:`h(u) = s \sum_i \ell(u_i; y_i)` with :math:`s = 1`, or :math:`s = 1/n`
when ``mean=True``, so its Hessian is diagonal:

* :class:`riemgn.losses.SquaredLoss`: :math:`\ell = \tfrac12 (u_i - y_i)^2`;
* :class:`riemgn.losses.LogisticLoss`: :math:`\ell = \log(1 + e^{-y_i u_i})`,
  for labels :math:`y_i \in \{-1, +1\}`;
* :class:`riemgn.losses.PseudoHuberLoss`: :math:`\ell = \delta^2\bigl(\sqrt{1 +
  (u_i - y_i)^2/\delta^2} - 1\bigr)`.

Each loss provides ``value(u)``, ``gradient(u)`` and ``hessian_vector(u, v)``
(the Euclidean :math:`h`, :math:`\nabla h` and :math:`\nabla^2 h\, v`), the
targets ``y``, ``n_outputs``, ``mean``, ``minimum``, ``hessian_diagonal(u)``
and ``problem(manifold)``, which wraps the loss as a ``pymanopt.Problem``.
Each loss validates its targets once, at construction, and each call checks
the shape and finiteness of :math:`u` (and of :math:`v`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from manifolds.validation import as_finite_vector, check_positive_real

__all__ = ["LogisticLoss", "PseudoHuberLoss", "SquaredLoss"]

#: Residuals below this in size are squared and summed without overflow.
_SAFE_RESIDUAL = 1e100


class _OutputLoss:
    """The shared part of the losses: targets, scale, validation and ``problem``.

    Subclasses implement ``value``, ``gradient``, ``hessian_vector`` and
    ``minimum``, and may refine the targets' validation in
    :meth:`_check_targets` and the ``repr`` in :meth:`_repr_options`.
    """

    def __init__(self, y, *, mean: bool = False):
        y = as_finite_vector("y", y).copy()
        if y.size == 0:
            raise ValueError(f"`y` must have at least one entry, got shape {y.shape}")
        self._check_targets(y)
        y.flags.writeable = False
        self._y = y
        if not isinstance(mean, bool):
            raise TypeError(f"`mean` must be a bool, got {mean!r}")
        self._mean = mean
        self._scale = 1.0 / y.size if mean else 1.0
        # Outputs with max |u| below this leave u - y and (u - y) . (u - y)
        # far inside float64's range: the residual needs no overflow checks.
        self._safe_outputs = _SAFE_RESIDUAL - float(np.max(np.abs(y)))

    def _check_targets(self, y: np.ndarray) -> None:
        """Further checks of the finite, non-empty targets; none by default."""

    @property
    def y(self) -> np.ndarray:
        """The targets (read-only)."""
        return self._y

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n`."""
        return self._y.size

    @property
    def mean(self) -> bool:
        """Whether the loss averages over the samples (:math:`s = 1/n`)."""
        return self._mean

    def _outputs(self, u) -> np.ndarray:
        return as_finite_vector("u", u, self._y.size)

    def _residual(self, u) -> np.ndarray:
        """:math:`u - y` for validated outputs; ``OverflowError`` if it is not representable."""
        return self._bounded_residual(u)[0]

    def _bounded_residual(self, u) -> tuple[np.ndarray, bool]:
        """:meth:`_residual`, and whether every entry is below ``_SAFE_RESIDUAL``."""
        u = self._outputs(u)
        if np.abs(u).max() < self._safe_outputs:
            return u - self._y, True
        return self._slow_residual(u), False

    def _slow_residual(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            residual = u - self._y
        if not np.isfinite(residual).all():
            raise OverflowError(
                "the residual u - y overflows float64: max |u| = "
                f"{float(np.max(np.abs(u))):.3e}, max |y| = "
                f"{float(np.max(np.abs(self._y))):.3e}"
            )
        return residual

    def _finite(self, value: float, u) -> float:
        """``value`` if finite; otherwise ``OverflowError`` (the loss exceeds float64)."""
        if not math.isfinite(value):
            u = np.asarray(u, dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                residual = float(np.max(np.abs(u - self._y)))
            raise OverflowError(
                f"the loss value h(u) overflows float64: max |u - y| = "
                f"{residual:.3e} (max |u| = {float(np.max(np.abs(u))):.3e}, max |y| = "
                f"{float(np.max(np.abs(self._y))):.3e}); the outputs or the targets "
                "are too large for the loss to be represented"
            )
        return value

    def _outputs_and_direction(self, u, v) -> tuple[np.ndarray, np.ndarray]:
        u = self._outputs(u)
        return u, as_finite_vector("v", v, self._y.size)

    def hessian_diagonal(self, u) -> np.ndarray:
        r"""The diagonal of :math:`\nabla^2 h(u)`, shape ``(n,)``.

        .. math::

            \diag\bigl(\nabla^2 h(u)\bigr) = \nabla^2 h(u)\, \mathbf{1},

        where :math:`\mathbf{1} = (1, \dots, 1)`: the losses here are
        separable, :math:`h(u) = s\sum_i \ell(u_i, y_i)`, so the Hessian is
        diagonal. The Gauss-Newton and Levenberg-Marquardt solvers use it as
        the output-space weight :math:`W` of their model.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.

        Returns
        -------
        ndarray, shape (n,)
            The diagonal, ``>= 0`` (the losses are convex).

        Examples
        --------
        >>> import numpy as np
        >>> SquaredLoss(np.zeros(4), mean=True).hessian_diagonal(np.ones(4))
        array([0.25, 0.25, 0.25, 0.25])
        """
        u = self._outputs(u)
        return self.hessian_vector(u, np.ones_like(u))

    def problem(self, manifold):
        r"""This loss as a ``pymanopt.Problem`` on ``manifold`` (numpy backend).

        Parameters
        ----------
        manifold : pymanopt.manifolds.manifold.Manifold
            A manifold whose points are output vectors of shape ``(n,)``, such
            as :class:`manifolds.OutputManifold`.

        Returns
        -------
        pymanopt.Problem
            With the cost ``value``, and the Euclidean gradient ``gradient``
            and Hessian ``hessian_vector``, which pymanopt converts to their
            Riemannian counterparts (:math:`\tfrac1c P_u\nabla h` for the
            gradient on an output manifold).

        Raises
        ------
        ValueError
            If the manifold's points do not have ``n`` outputs.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds import OutputManifold
        >>> from riemgn.networks import TwoLayerNetwork
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(2, 1)
        >>> params0 = network.init_params(rng)
        >>> manifold = OutputManifold(network.output_map(rng.standard_normal((4, 2))), params0)
        >>> loss = SquaredLoss(np.zeros(4))
        >>> problem = loss.problem(manifold)
        >>> u = manifold.point(params0)
        >>> bool(np.isclose(problem.cost(u), loss.value(u)))
        True
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

    def _repr_options(self) -> str:
        return ""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={self._y.size}, "
            f"{self._repr_options()}mean={self._mean})"
        )


class SquaredLoss(_OutputLoss):
    r"""The squared loss :math:`h(u) = \tfrac{s}{2}\|u - y\|^2`.

    .. math::

        h(u) = \frac{s}{2}\|u - y\|^2, \qquad \nabla h(u) = s(u - y),
        \qquad \nabla^2 h(u) = s I,

    where :math:`s = 1`, or :math:`s = 1/n` when ``mean=True``.

    Its unconstrained minimum is :math:`0`, at :math:`u = y`. On an output
    manifold the minimum is the optimal in-class risk, which only a solver
    can find (:math:`\tfrac{s}{2}` times the squared distance from :math:`y`
    to :math:`M`; see :func:`riemgn.solvers.optimal_in_class_risk`).

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

    Notes
    -----
    The value overflows to ``inf`` (with numpy's overflow warning) once
    :math:`\|u - y\|` exceeds about :math:`10^{154}`, since it is then not
    representable; the gradient and Hessian stay finite.

    Examples
    --------
    >>> import numpy as np
    >>> loss = SquaredLoss(np.array([1.0, 2.0]))
    >>> loss.value(np.array([1.0, 0.0]))
    2.0
    >>> loss.gradient(np.array([1.0, 0.0]))
    array([ 0., -2.])
    """

    @property
    def minimum(self) -> float:
        """The unconstrained minimum, 0 (at ``u = y``)."""
        return 0.0

    def value(self, u) -> float:
        r"""The loss value :math:`h(u) = \tfrac{s}{2}\|u - y\|^2`.

        .. math::

            h(u) = \frac{s}{2} \sum_{i=1}^n (u_i - y_i)^2,

        where :math:`y` are the targets and :math:`s = 1`, or :math:`1/n` when
        ``mean=True``.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.

        Returns
        -------
        float
            :math:`h(u) \ge 0`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.
        OverflowError
            If :math:`h(u)` exceeds the float64 range (it is never returned as
            ``inf``).

        Examples
        --------
        >>> import numpy as np
        >>> loss = SquaredLoss(np.array([1.0, 2.0]), mean=True)
        >>> loss.value(np.array([1.0, 0.0]))  # (1/2) (1/2) 2^2
        1.0
        """
        residual, bounded = self._bounded_residual(u)
        if bounded:  # r . r < n 1e200: no overflow
            return 0.5 * self._scale * float(residual @ residual)
        with np.errstate(over="ignore"):
            value = 0.5 * self._scale * float(residual @ residual)
            if not math.isfinite(value):
                # r @ r overflowed; the scaled sum decides whether h itself does.
                m = float(np.max(np.abs(residual)))
                q = float(np.sum(np.square(residual / m)))
                value = (0.5 * self._scale * q * m) * m
        return self._finite(value, u)

    def gradient(self, u) -> np.ndarray:
        r"""The Euclidean gradient :math:`\nabla h(u) = s(u - y)`, shape ``(n,)``.

        .. math::

            \nabla h(u) = s\,(u - y),

        where :math:`s = 1`, or :math:`1/n` when ``mean=True``.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla h(u)`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.
        OverflowError
            If :math:`u - y` exceeds the float64 range.

        Examples
        --------
        >>> import numpy as np
        >>> loss = SquaredLoss(np.array([1.0, 2.0]), mean=True)
        >>> loss.gradient(np.array([1.0, 0.0]))
        array([ 0., -1.])
        """
        return self._scale * self._residual(u)

    def hessian_vector(self, u, v) -> np.ndarray:
        r"""The Hessian-vector product :math:`\nabla^2 h(u) v = s v`, shape ``(n,)``.

        .. math::

            \nabla^2 h(u)\, v = s\, v,

        where :math:`s = 1`, or :math:`1/n` when ``mean=True``; the Hessian
        :math:`sI` does not depend on :math:`u`.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs (checked, otherwise unused).
        v : ndarray, shape (n,)
            The direction.

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla^2 h(u)\, v`.

        Raises
        ------
        ValueError
            If ``u`` or ``v`` does not have shape ``(n,)`` or is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> loss = SquaredLoss(np.array([1.0, 2.0]), mean=True)
        >>> loss.hessian_vector(np.zeros(2), np.array([2.0, 4.0]))
        array([1., 2.])
        """
        _, v = self._outputs_and_direction(u, v)
        return self._scale * v


class LogisticLoss(_OutputLoss):
    r"""The logistic loss :math:`h(u) = s \sum_i \log(1 + e^{-y_i u_i})`.

    .. math::

        h(u) = s \sum_{i=1}^n \log\bigl(1 + e^{-y_i u_i}\bigr), \qquad
        \nabla h(u)_i = -s\, y_i\, \sigma(-y_i u_i), \qquad
        \nabla^2 h(u) = s \operatorname{diag}\bigl(\sigma(y_i u_i)\,
        \sigma(-y_i u_i)\bigr),

    where

    * :math:`y_i \in \{-1, +1\}` are the labels,
    * :math:`\sigma(t) = 1/(1 + e^{-t})` is the logistic sigmoid,
    * :math:`s = 1`, or :math:`s = 1/n` when ``mean=True``.

    Its infimum is :math:`0`, and it is **not attained**: :math:`h(u) > 0` for
    every finite :math:`u`, and :math:`h(u) \to 0` only as every margin
    :math:`y_i u_i \to +\infty`. :attr:`riemgn.losses.LogisticLoss.minimum`
    returns this infimum. (In
    floating point the value rounds to ``0.0`` once every margin exceeds
    about 745.)

    The value uses ``numpy.logaddexp`` and the derivatives
    ``scipy.special.expit``, so that all three are accurate and finite,
    without overflow, for any finite :math:`u` (up to :math:`|u_i| \sim
    10^{300}`, where the value itself is about :math:`s \sum_i |u_i|`).

    Parameters
    ----------
    y : ndarray, shape (n,)
        The labels, each exactly ``-1`` or ``+1``, with :math:`n \ge 1`.
    mean : bool, default False
        Average over the samples instead of summing.

    Raises
    ------
    ValueError
        If ``y`` is not a finite 1-d array with at least one entry, or holds a
        value other than ``-1`` and ``+1``.
    TypeError
        If ``mean`` is not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> loss = LogisticLoss(np.array([1.0, -1.0]))
    >>> loss.value(np.zeros(2))  # 2 log 2
    1.3862943611198906
    >>> loss.gradient(np.zeros(2))
    array([-0.5,  0.5])
    >>> loss.hessian_vector(np.zeros(2), np.array([1.0, 2.0]))
    array([0.25, 0.5 ])
    >>> loss.value(np.array([1e300, -1e300]))  # correct margins: no overflow
    0.0
    >>> loss.minimum  # an infimum, approached as y * u -> +inf
    0.0
    """

    def _check_targets(self, y: np.ndarray) -> None:
        bad = np.flatnonzero((y != 1.0) & (y != -1.0))
        if bad.size:
            first = bad[0]
            more = f" ({bad.size} bad labels in all)" if bad.size > 1 else ""
            raise ValueError(
                f"`y` must hold only -1 and +1 labels, got {float(y[first])!r} at "
                f"index {first}{more}"
            )

    @property
    def minimum(self) -> float:
        r"""The infimum, 0; not attained, approached as every :math:`y_i u_i \to +\infty`."""
        return 0.0

    def _margins(self, u) -> np.ndarray:
        return self._y * self._outputs(u)

    def value(self, u) -> float:
        r"""The loss value :math:`h(u) = s \sum_i \log(1 + e^{-y_i u_i})`.

        .. math::

            h(u) = s \sum_{i=1}^n \operatorname{logaddexp}(0, -y_i u_i)
                 = s \sum_{i=1}^n \log\bigl(1 + e^{-y_i u_i}\bigr),

        where :math:`y_i \in \{-1, +1\}` are the labels and :math:`s = 1`, or
        :math:`1/n` when ``mean=True``. ``logaddexp`` neither overflows for
        large negative margins nor loses the small terms of large positive
        ones.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs (scores).

        Returns
        -------
        float
            :math:`h(u) \ge 0`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.
        OverflowError
            If :math:`h(u)` exceeds the float64 range (it is never returned as
            ``inf``).

        Examples
        --------
        >>> import numpy as np
        >>> loss = LogisticLoss(np.array([1.0, -1.0]))
        >>> round(loss.value(np.array([2.0, -2.0])), 6)  # 2 log(1 + e^-2)
        0.253856
        """
        with np.errstate(over="ignore"):
            value = self._scale * float(np.sum(np.logaddexp(0.0, -self._margins(u))))
        return self._finite(value, u)

    def gradient(self, u) -> np.ndarray:
        r"""The Euclidean gradient :math:`\nabla h(u) = -s\, y \odot \sigma(-y \odot u)`, shape ``(n,)``.

        .. math::

            \nabla h(u)_i = -s\, y_i\, \sigma(-y_i u_i),

        where :math:`\sigma(t) = 1/(1 + e^{-t})` is the logistic sigmoid
        (``scipy.special.expit``) and :math:`s = 1`, or :math:`1/n` when
        ``mean=True``. Each entry is bounded by :math:`s` in absolute value.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs (scores).

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla h(u)`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> loss = LogisticLoss(np.array([1.0, -1.0]))
        >>> u = np.array([2.0, -2.0])
        >>> np.round(loss.gradient(u), 6)  # -y sigma(-2)
        array([-0.119203,  0.119203])
        >>> e = np.array([1e-6, 0.0])  # a central difference agrees
        >>> round(float((loss.value(u + e) - loss.value(u - e)) / 2e-6), 6)
        -0.119203
        """
        return -self._scale * self._y * expit(-self._margins(u))

    def hessian_vector(self, u, v) -> np.ndarray:
        r"""The Hessian-vector product :math:`\nabla^2 h(u) v = s\, \sigma(y \odot u) \odot \sigma(-y \odot u) \odot v`, shape ``(n,)``.

        .. math::

            \bigl(\nabla^2 h(u)\, v\bigr)_i
                = s\, \sigma(y_i u_i)\, \sigma(-y_i u_i)\, v_i,

        where :math:`\sigma` is the logistic sigmoid and :math:`s = 1`, or
        :math:`1/n` when ``mean=True`` (:math:`y_i^2 = 1`). The weights
        :math:`\sigma(t)\sigma(-t) \le \tfrac14` are computed without
        cancellation.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs (scores).
        v : ndarray, shape (n,)
            The direction.

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla^2 h(u)\, v`.

        Raises
        ------
        ValueError
            If ``u`` or ``v`` does not have shape ``(n,)`` or is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> loss = LogisticLoss(np.array([1.0, -1.0]))
        >>> u, v = np.array([2.0, -2.0]), np.array([1.0, -3.0])
        >>> np.round(loss.hessian_vector(u, v), 6)
        array([ 0.104994, -0.314981])
        >>> step = 1e-6  # the derivative of the gradient along v
        >>> difference = (loss.gradient(u + step * v) - loss.gradient(u - step * v)) / (2 * step)
        >>> bool(np.allclose(loss.hessian_vector(u, v), difference))
        True
        """
        u, v = self._outputs_and_direction(u, v)
        margins = self._y * u
        return self._scale * (expit(margins) * expit(-margins)) * v


class PseudoHuberLoss(_OutputLoss):
    r"""The pseudo-Huber loss, quadratic near :math:`y` and linear far from it.

    .. math::

        h(u) = s\,\delta^2 \sum_{i=1}^n \Bigl(\sqrt{1 + (r_i/\delta)^2} -
        1\Bigr), \qquad
        \nabla h(u)_i = \frac{s\, r_i}{\sqrt{1 + (r_i/\delta)^2}}, \qquad
        \nabla^2 h(u) = s \operatorname{diag}\Bigl(\bigl(1 +
        (r_i/\delta)^2\bigr)^{-3/2}\Bigr),

    where

    * :math:`r = u - y` is the residual,
    * :math:`\delta > 0` is the transition scale: :math:`h` behaves like
      :math:`\tfrac{s}{2}\|r\|^2` for :math:`|r_i| \ll \delta` and like
      :math:`s\,\delta \sum_i |r_i|` for :math:`|r_i| \gg \delta`, so that
      :math:`|\nabla h(u)_i| < s\,\delta`,
    * :math:`s = 1`, or :math:`s = 1/n` when ``mean=True``.

    Its unconstrained minimum is :math:`0`, attained only at :math:`u = y`.

    The terms are computed as :math:`\delta\, |r_i| \cdot |r_i| / (\rho_i +
    \delta)`, :math:`\delta\, r_i/\rho_i` and :math:`(\delta/\rho_i)^3` with
    :math:`\rho_i = \operatorname{hypot}(\delta, r_i)`: no cancellation for
    small residuals, and no overflow for large ones.

    Parameters
    ----------
    y : ndarray, shape (n,)
        The targets, finite, with :math:`n \ge 1`.
    delta : float, default 1.0
        The transition scale :math:`\delta`, finite and ``> 0``.
    mean : bool, default False
        Average over the samples instead of summing.

    Raises
    ------
    ValueError
        If ``y`` is not a finite 1-d array with at least one entry, or
        ``delta`` is not finite or not ``> 0``.
    TypeError
        If ``delta`` is not a real number or ``mean`` is not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> loss = PseudoHuberLoss(np.zeros(2), delta=2.0)
    >>> u = np.array([0.0, 1.5])  # sqrt(1 + (1.5 / 2)^2) = 1.25
    >>> loss.value(u)  # 4 * (1.25 - 1)
    1.0
    >>> loss.gradient(u)  # 1.5 / 1.25
    array([0. , 1.2])
    >>> loss.hessian_vector(u, np.ones(2))  # 1.25^-3 = 0.512
    array([1.   , 0.512])
    >>> loss.value(np.zeros(2)) == loss.minimum == 0.0
    True
    """

    def __init__(self, y, delta: float = 1.0, *, mean: bool = False):
        super().__init__(y, mean=mean)
        self._delta = check_positive_real("delta", delta)

    @property
    def delta(self) -> float:
        r"""The transition scale :math:`\delta`."""
        return self._delta

    @property
    def minimum(self) -> float:
        """The unconstrained minimum, 0 (at ``u = y``)."""
        return 0.0

    def _residuals(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""For validated outputs, :math:`r = u - y` and :math:`\rho = \operatorname{hypot}(\delta, r)`."""
        residual = self._residual(u)
        return residual, np.hypot(self._delta, residual)

    def value(self, u) -> float:
        r"""The loss value :math:`h(u) = s\,\delta^2 \sum_i (\sqrt{1 + (r_i/\delta)^2} - 1)`.

        .. math::

            h(u) = s\,\delta^2 \sum_{i=1}^n
                \Bigl(\sqrt{1 + (r_i/\delta)^2} - 1\Bigr)
                 = s\,\delta \sum_{i=1}^n \frac{|r_i|\,|r_i|}{\rho_i + \delta},

        where :math:`r = u - y`, :math:`\rho_i = \operatorname{hypot}(\delta,
        r_i)`, and :math:`s = 1`, or :math:`1/n` when ``mean=True``. The second
        form, which is computed, has no cancellation for small residuals and
        no overflow for large ones.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.

        Returns
        -------
        float
            :math:`h(u) \ge 0`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.
        OverflowError
            If :math:`h(u)` exceeds the float64 range (it is never returned as
            ``inf``).

        Examples
        --------
        >>> import numpy as np
        >>> loss = PseudoHuberLoss(np.zeros(2), delta=1.0)
        >>> loss.value(np.array([1e-9, 0.0]))  # quadratic near y: r^2 / 2
        5e-19
        >>> round(loss.value(np.array([1e6, 0.0])), 3)  # linear far away: delta |r| - delta^2
        999999.0
        """
        residual, rho = self._residuals(self._outputs(u))
        size = np.abs(residual)
        with np.errstate(over="ignore"):
            terms = self._delta * (size * (size / (rho + self._delta)))
            value = self._scale * float(np.sum(terms))
        return self._finite(value, u)

    def gradient(self, u) -> np.ndarray:
        r"""The Euclidean gradient :math:`\nabla h(u) = s\, r / \sqrt{1 + (r/\delta)^2}`, shape ``(n,)``.

        .. math::

            \nabla h(u)_i = \frac{s\, r_i}{\sqrt{1 + (r_i/\delta)^2}}
                          = s\,\delta\, \frac{r_i}{\rho_i},

        where :math:`r = u - y`, :math:`\rho_i = \operatorname{hypot}(\delta,
        r_i)` and :math:`s = 1`, or :math:`1/n` when ``mean=True``. Each entry
        is bounded by :math:`s\,\delta` in absolute value.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla h(u)`.

        Raises
        ------
        ValueError
            If ``u`` does not have shape ``(n,)`` or is not finite.
        OverflowError
            If :math:`u - y` exceeds the float64 range.

        Examples
        --------
        >>> import numpy as np
        >>> loss = PseudoHuberLoss(np.zeros(3), delta=2.0)
        >>> loss.gradient(np.array([1.5, -1.5, 0.0]))  # 1.5 / sqrt(1 + 0.75^2)
        array([ 1.2, -1.2,  0. ])
        >>> round(float(loss.gradient(np.array([1e6, 0.0, 0.0]))[0]), 6)  # at most delta
        2.0
        """
        residual, rho = self._residuals(self._outputs(u))
        return (self._scale * self._delta) * (residual / rho)

    def hessian_vector(self, u, v) -> np.ndarray:
        r"""The Hessian-vector product :math:`\nabla^2 h(u) v = s\,(1 + (r/\delta)^2)^{-3/2} \odot v`, shape ``(n,)``.

        .. math::

            \bigl(\nabla^2 h(u)\, v\bigr)_i
                = s\,\bigl(1 + (r_i/\delta)^2\bigr)^{-3/2} v_i
                = s\, (\delta/\rho_i)^3\, v_i,

        where :math:`r = u - y`, :math:`\rho_i = \operatorname{hypot}(\delta,
        r_i)` and :math:`s = 1`, or :math:`1/n` when ``mean=True``.

        Parameters
        ----------
        u : ndarray, shape (n,)
            The outputs.
        v : ndarray, shape (n,)
            The direction.

        Returns
        -------
        ndarray, shape (n,)
            :math:`\nabla^2 h(u)\, v`.

        Raises
        ------
        ValueError
            If ``u`` or ``v`` does not have shape ``(n,)`` or is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> loss = PseudoHuberLoss(np.zeros(2), delta=2.0)
        >>> loss.hessian_vector(np.array([0.0, 1.5]), np.array([2.0, 1.0]))  # 1.25^-3 = 0.512
        array([2.   , 0.512])
        """
        u, v = self._outputs_and_direction(u, v)
        _, rho = self._residuals(u)
        return self._scale * (self._delta / rho) ** 3 * v

    def _repr_options(self) -> str:
        return f"delta={self._delta!r}, "
