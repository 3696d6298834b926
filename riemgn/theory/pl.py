"""The Polyak-Lojasiewicz constant of a loss on the output manifold."""

from __future__ import annotations

import math

from manifolds.output_manifold import OutputManifold
from manifolds.validation import (
    NonFiniteError,
    as_finite_vector,
)
from riemgn.theory._common import (
    _check_manifold,
    _check_real,
)

__all__ = ["pl_constant"]


def pl_constant(manifold: OutputManifold, loss, u, h_star: float) -> float:
    r"""The Polyak-Łojasiewicz ratio of a loss on the manifold at :math:`u`.

    .. math::

        \mu(u) = \frac{\|\operatorname{grad} h(u)\|_u^2}{2\,(h(u) - h^*)},
        \qquad \operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u),

    where

    - :math:`h` is the loss on outputs and :math:`h^*` its minimum on
      :math:`M` (the optimal in-class risk),
    - :math:`\|\xi\|_u = \sqrt c\,\|\xi\|_2` is the metric norm
      (``manifold.norm``), so :math:`\|\operatorname{grad} h\|_u^2 =
      \|P_u\nabla h\|^2/c`,
    - :math:`P_u` is the orthogonal projection onto :math:`T_uM`.

    If :math:`\mu(u) \ge \mu > 0` along the Riemannian gradient flow
    :math:`u' = -\operatorname{grad} h(u)`, then :math:`h(u_t) - h^* \le
    e^{-2\mu t}(h(u_0) - h^*)`. For the squared loss
    :math:`\tfrac s2\|u-y\|^2` on a flat (affine) manifold, :math:`\mu = s/c`
    at every point: 1 for ``SquaredLoss(y)`` with :math:`c = 1`, and for
    ``SquaredLoss(y, mean=True)`` with :math:`c = 1/n`.

    Parameters
    ----------
    manifold : OutputManifold
        The output manifold :math:`M`.
    loss : object
        The loss :math:`h`, with ``value(u) -> float`` and
        ``gradient(u) -> ndarray, shape (n_outputs,)``, such as
        :class:`~riemgn.losses.SquaredLoss`.
    u : ndarray, shape (n_outputs,)
        A point of :math:`M`.
    h_star : float
        The minimum :math:`h^*` of the loss on :math:`M`; it must be below
        :math:`h(u)`.

    Returns
    -------
    float
        :math:`\mu(u) \ge 0`.

    Raises
    ------
    ValueError
        If ``h_star`` is not finite or not below :math:`h(u)`, the loss or its
        gradient is not finite at ``u``, ``u`` is not on the manifold, or the
        ratio overflows float64.
    TypeError
        If ``manifold`` is not an :class:`~manifolds.OutputManifold`,
        ``loss`` has no ``value`` and ``gradient`` methods, or ``h_star`` is
        not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> from riemgn.losses import SquaredLoss
    >>> A = np.array([[1.0, 0.0], [0.0, 3.0], [0.0, 0.0]])
    >>> manifold = OutputManifold(AutogradOutputMap(lambda w: A @ w, n_params=2), np.zeros(2))
    >>> loss = SquaredLoss(np.array([1.0, 1.0, 2.0]))  # h* = 2 on the plane z = 0
    >>> u = manifold.point(np.array([0.5, -1.0]))
    >>> round(pl_constant(manifold, loss, u, h_star=2.0), 12)
    1.0
    """
    manifold = _check_manifold(manifold)
    if not (
        callable(getattr(loss, "value", None))
        and callable(getattr(loss, "gradient", None))
    ):
        raise TypeError(
            "`loss` must have value(u) and gradient(u) methods, such as "
            f"riemgn.losses.SquaredLoss, got {type(loss).__name__}"
        )
    h_star = _check_real("h_star", h_star)
    u = as_finite_vector("u", u, manifold.ambient_dim)
    value = float(loss.value(u))
    if not math.isfinite(value):
        raise ValueError(f"the loss is not finite at `u`: h(u) = {value}")
    gap = value - h_star
    if not gap > 0:
        raise ValueError(
            f"`h_star` must be below h(u) = {value!r}, got {h_star!r} (h(u) - h_star "
            f"= {gap:.3e}); pass the minimum of the loss on the manifold, and a "
            "point that is not already optimal"
        )
    euclidean_gradient = as_finite_vector(
        "loss.gradient(u)", loss.gradient(u), manifold.ambient_dim
    )
    gradient = manifold.euclidean_to_riemannian_gradient(u, euclidean_gradient)
    size = manifold.norm(u, gradient)
    try:
        ratio = size**2 / (2.0 * gap)
    except OverflowError:  # Python floats raise instead of returning inf
        ratio = math.inf
    if not math.isfinite(ratio):
        raise NonFiniteError(
            f"the PL ratio is not finite, it overflows float64: |grad h(u)|_u = {size:.3e} and h(u) - "
            f"h_star = {gap:.3e}; its true value exceeds the largest float"
        )
    return ratio
