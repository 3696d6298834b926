"""The norm of the second fundamental form of the output manifold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from manifolds.exceptions import NotAnImmersionError
from manifolds.linalg import factorize, orthonormal_basis
from manifolds.output_manifold import OutputManifold
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    as_finite_vector,
    check_generator,
    check_positive_int,
    max_abs,
    norm,
    scale_back,
)
from riemgn.theory._common import (
    _CIRCLE_GRID,
    _SFF_MAX_ITER,
    _SFF_RTOL,
    _check_manifold,
    _jacobian,
    _readonly,
)

__all__ = ["SecondFundamentalFormNorm", "second_fundamental_form_norm"]


@dataclass(frozen=True)
class SecondFundamentalFormNorm:
    r"""The largest normal curvature :math:`\|\mathrm{II}\|` and where it is attained.

    ``float(result)`` is ``result.value``.

    Attributes
    ----------
    value : float
        :math:`\max_{\|\xi\|_u = 1} \|\mathrm{II}(\xi, \xi)\|_2` (see
        :func:`riemgn.theory.second_fundamental_form_norm` for the norms).
    direction : ndarray, shape (n_outputs,)
        A maximizing tangent vector :math:`\xi`, of metric norm 1
        (``manifold.norm(u, direction) == 1``); defined up to sign.
    normal_vector : ndarray, shape (n_outputs,)
        :math:`\mathrm{II}(\xi, \xi)`, a normal vector of Euclidean norm
        ``value``.
    converged : bool
        Whether the best start met the stopping rule (relative change of
        :math:`\|\mathrm{II}(\xi,\xi)\|^2` below ``1e-12``) within the
        iteration limit.

    Examples
    --------
    On a circle of radius 2, the normal curvature is 1/2 in the tangent
    direction, and :math:`\mathrm{II}(\xi, \xi)` points to the centre:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> circle = AutogradOutputMap(
    ...     lambda t: 2.0 * anp.concatenate([anp.cos(t), anp.sin(t), anp.zeros(1)]),
    ...     n_params=1,
    ... )
    >>> manifold = OutputManifold(circle, np.array([0.3]))
    >>> u = manifold.point(np.array([0.3]))
    >>> result = second_fundamental_form_norm(manifold, u)
    >>> round(float(result), 12), result.converged
    (0.5, True)
    >>> bool(np.allclose(result.normal_vector, -u / 4))  # -u / r^2
    True
    >>> bool(abs(result.direction @ u) < 1e-12)  # tangent: orthogonal to the radius
    True
    """

    value: float
    direction: np.ndarray
    normal_vector: np.ndarray
    converged: bool

    def __float__(self) -> float:
        return self.value


def _curvature_tensor(manifold: OutputManifold, params: np.ndarray) -> tuple:
    """``Q``, ``T`` and ``factors`` with ``T[i, j] = P^perp D^2F[R^-1 e_i, R^-1 e_j]``.

    ``T`` has shape ``(p, p, n)``. ``factors`` is empty unless the plain
    tensor over- or underflows (a tiny or huge ``alpha``); then ``T`` is
    computed along rescaled directions and normalized to unit size, and the
    true tensor is ``T * prod(multipliers) / prod(divisors)`` for
    ``factors = (multipliers, divisors)``.
    """
    output_map = manifold.output_map
    p = manifold.dim
    # One QR for the rank test and the tensor, with the manifold's tolerance.
    factorization = factorize(
        _jacobian(output_map, params), rank_rtol=manifold.rank_rtol
    )
    info = factorization.rank_info()
    if info.rank < p:
        raise NotAnImmersionError(
            f"J(theta) is rank-deficient at this point: numerical rank {info.rank} "
            f"< n_params = {p} (tolerance {info.tolerance:.3e}); the second "
            "fundamental form is not defined where F is not an immersion"
        )
    Q = factorization.Q
    V = factorization.triangular_inverse()  # R^{-1}
    try:
        with np.errstate(all="ignore"):
            T = _normal_second_derivatives(output_map, params, Q, V)
        size = max_abs(T)
        if all_finite(T) and _TENSOR_TINY < size < _TENSOR_HUGE:
            return Q, T, ()  # zero may be an underflow: that is checked below
    except ValueError:  # a model that refuses to overflow: rescale below
        pass
    # D^2F is bilinear. With r = max|R| and W = (R / r)^{-1} = r R^{-1} (which
    # cannot overflow where R^{-1} does), along W / |W| the tensor is
    # T (r / |W|)^2; it is then normalized by its largest entry t.
    size_r = max_abs(factorization.R)
    with np.errstate(all="ignore"):
        W = factorization.triangular_inverse(scale=size_r)
        size_w = max_abs(W)
        T = _normal_second_derivatives(output_map, params, Q, W / size_w)
    if not (all_finite(W) and all_finite(T)):
        raise NonFiniteError(
            "the second derivatives of the output map are not finite at `u`, even "
            "along unit directions: the model overflows float64 there"
        )
    size_t = max_abs(T)
    if size_t == 0.0:
        return Q, T, ()
    return Q, T / size_t, ((size_w, size_w, size_t), (size_r, size_r))


# The plain tensor is used when its largest entry lies in this range, where
# the sums of squares of the ascent can neither overflow nor underflow.
_TENSOR_TINY, _TENSOR_HUGE = 1e-140, 1e140


def _normal_second_derivatives(output_map, params, Q, V) -> np.ndarray:
    n, p = Q.shape
    T = np.empty((p, p, n))
    for i in range(p):
        for j in range(i, p):
            second = np.asarray(
                output_map.second_derivative(params, V[:, i], V[:, j]),
                dtype=np.float64,
            )
            if second.shape != (n,):
                raise ValueError(
                    "the output map's second_derivative returned shape "
                    f"{second.shape}, expected ({n},)"
                )
            normal = second - Q @ (Q.T @ second)
            T[i, j] = normal
            T[j, i] = normal
    return T


def _quartic(T: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``T(e_i, a)`` (rows), ``T(a, a)`` and ``f(a) = |T(a, a)|^2``."""
    Ta = np.einsum("ijm,j->im", T, a)
    v = a @ Ta
    return Ta, v, float(v @ v)


def _great_circle_search(
    T: np.ndarray, a: np.ndarray, v: np.ndarray, Ta: np.ndarray, d: np.ndarray
) -> np.ndarray:
    r"""The maximizer of :math:`f` on the great circle through ``a`` along unit ``d``, ``d`` perpendicular to ``a``.

    On :math:`a(t) = a\cos t + d \sin t`, :math:`T(a(t), a(t)) = A\cos^2 t + 2B
    \sin t\cos t + C \sin^2 t`: a grid over the half circle, then Brent's
    method around the best grid point.
    """
    A, B, C = v, d @ Ta, d @ np.einsum("ijm,j->im", T, d)

    def objective(t):
        c, s = np.cos(t), np.sin(t)
        w = np.multiply.outer(c * c, A) + np.multiply.outer(2 * s * c, B)
        w += np.multiply.outer(s * s, C)
        return np.einsum("...m,...m->...", w, w)

    grid = np.linspace(-0.5 * np.pi, 0.5 * np.pi, _CIRCLE_GRID)
    k = int(np.argmax(objective(grid)))
    h = grid[1] - grid[0]
    refined = scipy.optimize.minimize_scalar(
        lambda t: -objective(t),
        bounds=(grid[k] - h, grid[k] + h),
        method="bounded",
        options={"xatol": 1e-12},
    )
    t = refined.x if -refined.fun > objective(grid[k]) else grid[k]
    candidate = np.cos(t) * a + np.sin(t) * d
    return candidate / np.linalg.norm(candidate)


def _maximize_quartic(
    T: np.ndarray, start: np.ndarray, rtol: float, max_iter: int
) -> tuple[np.ndarray, float, bool]:
    r"""Maximize :math:`f(a) = \|T(a, a)\|^2` on the unit sphere from ``start`` (monotone ascent)."""
    p = T.shape[0]
    a = start / np.linalg.norm(start)
    Ta, v, f = _quartic(T, a)
    if p == 1:
        return a, f, True
    for _ in range(max_iter):
        g = Ta @ v  # the gradient of f/4
        # An orthonormal basis of a^perp: the complete QR of a has Q e_1 = +-a.
        U = orthonormal_basis(a[:, None], complete=True)[:, 1:]
        hessian = 2.0 * Ta @ Ta.T + np.einsum("ijm,m->ij", T, v) - f * np.eye(p)
        curvatures, vectors = np.linalg.eigh(U.T @ hessian @ U)
        gradient = U.T @ g  # the Riemannian gradient of f/4, in the basis U
        directions = []
        if np.linalg.norm(gradient) > 0:
            directions.append(U @ gradient / np.linalg.norm(gradient))
        if curvatures[-1] > 0:  # a saddle or a minimum: follow positive curvature
            directions.append(U @ vectors[:, -1])
        candidates = [_great_circle_search(T, a, v, Ta, d) for d in directions]
        if curvatures[-1] < 0:  # concave here: Riemannian Newton
            step = U @ (vectors @ ((vectors.T @ gradient) / -curvatures))
            candidates.append((a + step) / np.linalg.norm(a + step))
        best = (a, Ta, v, f)
        for candidate in candidates:
            values = _quartic(T, candidate)
            if values[2] > best[3]:
                best = (candidate, *values)
        change = best[3] - f
        a, Ta, v, f = best
        if change <= rtol * f:
            return a, f, True
    return a, f, False


def second_fundamental_form_norm(
    manifold: OutputManifold,
    u,
    *,
    rng: np.random.Generator | None = None,
    n_starts: int = 8,
) -> SecondFundamentalFormNorm:
    r"""The norm of the second fundamental form: the largest normal curvature at :math:`u`.

    .. math::

        \|\mathrm{II}_u\| = \max_{\xi \in T_uM,\ \|\xi\|_u = 1}
            \|\mathrm{II}(\xi, \xi)\|_2
        = \frac1c \max_{a \in \mathbb{R}^p,\ \|a\|_2 = 1}
            \Big\| \sum_{i,j} a_i a_j T_{ij} \Big\|_2,

    where

    - :math:`\|\xi\|_u = \sqrt c\,\|\xi\|_2` is the metric norm
      (``manifold.norm``) with weight :math:`c` = ``manifold.metric_weight``,
    - :math:`\|\cdot\|_2` is the Euclidean norm in :math:`\mathbb{R}^n` of
      the normal vector :math:`\mathrm{II}(\xi,\xi)`,
    - :math:`\mathrm{II}(\xi, \zeta) = P^\perp D^2F(\theta)[J^+\xi, J^+\zeta]`
      at the chart :math:`\theta = \theta(u)` (``manifold.lift(u)``),
    - :math:`J(\theta) = QR` is the thin QR factorization, so that
      :math:`\xi = Qa/\sqrt c` is a unit tangent vector,
    - :math:`T_{ij} = P^\perp D^2F(\theta)[R^{-1}e_i, R^{-1}e_j]`.

    With :math:`c = 1` this is the usual norm of the second fundamental form
    (e.g. :math:`1/r` for a circle of radius :math:`r`). For another
    :math:`c`, it is :math:`1/c` times that; measuring the normal vector in
    the metric norm too would give :math:`\sqrt c` times this value, the
    curvature of the rescaled manifold :math:`\sqrt c M`. For
    :math:`F_\alpha = \alpha F_1` the value is exactly proportional to
    :math:`1/\alpha`.

    The tensor :math:`T` takes :math:`p(p+1)/2` calls of
    ``second_derivative``. The quartic form :math:`\|T(a,a)\|^2` is
    maximized from ``n_starts`` random starts (standard Gaussian directions
    from ``rng``) and one deterministic start (the leading left singular
    vector of the :math:`p \times pn` unfolding of :math:`T`), each by a
    monotone ascent on the sphere (great-circle line searches along the
    gradient and along positive curvature, Riemannian Newton steps near a
    maximum; see the module notes) until the relative increase of
    :math:`\|T(a,a)\|^2` falls below ``1e-12``; the best start wins. It is a
    local method: with several starts it finds the global maximum in
    practice, but that is not guaranteed.

    Parameters
    ----------
    manifold : OutputManifold
        The output manifold :math:`M`, a :class:`manifolds.OutputManifold`.
    u : ndarray, shape (n_outputs,)
        A point of :math:`M`.
    rng : numpy.random.Generator, optional
        The generator of the random starts. The default is a fresh
        ``np.random.default_rng(0)`` at each call, so that the result is
        deterministic.
    n_starts : int, default 8
        The number of random starts (>= 1).

    Returns
    -------
    SecondFundamentalFormNorm
        ``value`` is :math:`\|\mathrm{II}_u\|` (``float(result)`` gives it),
        ``direction`` a maximizing unit tangent vector and ``normal_vector``
        :math:`\mathrm{II}(\xi,\xi)` there. ``value`` is 0 on a flat manifold.

    Raises
    ------
    TypeError
        If ``manifold`` is not an :class:`~manifolds.OutputManifold`, or
        ``rng`` is not a ``numpy.random.Generator``.
    ValueError
        If ``n_starts < 1``; ``NotOnManifoldError`` (a ``ValueError``) if
        ``u`` is not on the manifold.
    manifolds.NotAnImmersionError
        If :math:`J(\theta(u))` is rank-deficient.

    Examples
    --------
    A circle of radius 2 in :math:`\mathbb{R}^3` has curvature 1/2:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> circle = AutogradOutputMap(
    ...     lambda t: 2.0 * anp.concatenate([anp.cos(t), anp.sin(t), anp.zeros(1)]),
    ...     n_params=1,
    ... )
    >>> manifold = OutputManifold(circle, np.array([0.3]))
    >>> u = manifold.point(np.array([0.3]))
    >>> round(second_fundamental_form_norm(manifold, u).value, 12)
    0.5
    """
    manifold = _check_manifold(manifold)
    rng = np.random.default_rng(0) if rng is None else check_generator(rng)
    n_starts = check_positive_int("n_starts", n_starts)
    c = manifold.metric_weight
    u = as_finite_vector("u", u, manifold.ambient_dim)
    params = manifold.lift(u)
    Q, T, factors = _curvature_tensor(manifold, params)
    p = T.shape[0]
    unfolding = T.reshape(p, -1)
    # The leading singular pair of the unfolding, from its p x p Gram matrix
    # (only the largest one is needed, which that resolves to full accuracy).
    squares, left = np.linalg.eigh(unfolding @ unfolding.T)
    if squares[-1] <= 0:  # flat: II vanishes identically
        direction = Q[:, 0] / math.sqrt(c)
        return SecondFundamentalFormNorm(
            0.0, _readonly(direction), _readonly(np.zeros(Q.shape[0])), True
        )
    # Scale T to unit size so that the stopping rule is scale-free.
    scale = math.sqrt(float(squares[-1]))
    T = T / scale
    starts = [left[:, -1]] + [rng.standard_normal(p) for _ in range(n_starts)]
    best = None
    for start in starts:
        a, f, converged = _maximize_quartic(T, start, _SFF_RTOL, _SFF_MAX_ITER)
        if best is None or f > best[1]:
            best = (a, f, converged)
    a, f, converged = best
    if factors:  # T was normalized: scale back with exact powers of two
        multipliers, divisors = factors
        normal_vector = scale_back(
            np.einsum("ijm,i,j->m", T, a, a),
            (scale, *multipliers),
            divisors=(c, *divisors),
        )
    else:
        normal_vector = scale * np.einsum("ijm,i,j->m", T, a, a) / c
    value = norm(normal_vector)
    if not (all_finite(normal_vector) and math.isfinite(value)):
        raise NonFiniteError(
            "the second fundamental form is not finite at `u`: its norm exceeds "
            f"the largest float (metric_weight = {c:.3e}); the model's scale "
            "(`alpha`) is too small for this curvature"
        )
    return SecondFundamentalFormNorm(
        value=value,
        direction=_readonly(Q @ a / math.sqrt(c)),
        normal_vector=_readonly(normal_vector),
        converged=bool(converged),
    )
