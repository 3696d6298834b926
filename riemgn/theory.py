r"""The quantities the paper's claims are about: spectra, curvature, PL constants, rates.

Each function measures one number (or a small frozen result) that a claim of
arXiv:2412.14031 talks about (THEORY §4):

* :func:`riemgn.theory.gram_matrix`,
  :func:`riemgn.theory.neural_tangent_kernel` and
  :func:`riemgn.theory.spectrum_summary`: the Gram matrix
  :math:`G = J^\top J` (underparameterized) and the kernel
  :math:`K = JJ^\top` (overparameterized), and their extreme eigenvalues and
  condition numbers (claims C2, C5, C6);
* :func:`riemgn.theory.second_fundamental_form_norm`: the largest normal
  curvature of the output manifold, :math:`\|\mathrm{II}\| \propto
  1/\alpha` (claim C3);
* :func:`riemgn.theory.pl_constant`: the Polyak-Łojasiewicz ratio of a loss
  on the manifold, which bounds the exponential rate of the Riemannian
  gradient flow (claim C2);
* :func:`riemgn.theory.fit_exponential_rate`: the rate fitted to a measured
  excess risk :math:`h(u_t) - h^*` (claims C2, C5);
* :func:`riemgn.theory.optimal_in_class_risk`: the optimal in-class risk
  :math:`h^*` and predictor :math:`u^*`, by a long Gauss-Newton run
  cross-checked against scipy (THEORY §4).

Developer notes
---------------
*Spectra from singular values.* The eigenvalues of :math:`G = J^\top J` and
:math:`K = JJ^\top` are the squared singular values of :math:`J` (padded with
zeros to the size of the matrix). An eigen-solver applied to the formed
matrix has an absolute error of about :math:`\varepsilon \lambda_{max}`, so
every eigenvalue below :math:`\varepsilon\lambda_{max}`, i.e. every
:math:`\sigma_i < \sqrt{\varepsilon}\,\sigma_{max}`, is noise, and
:math:`\operatorname{cond}(G) > 10^{16}` cannot be measured at all. An SVD of
:math:`J` (one-sided, ``scipy.linalg.svdvals``) keeps an absolute error of
:math:`\varepsilon\sigma_{max}` on each :math:`\sigma_i`, which resolves
:math:`\lambda_i = \sigma_i^2` down to about :math:`\varepsilon^2
\lambda_{max}`.

*The norm of the second fundamental form in an orthonormal basis.* With
:math:`J = QR` (thin QR) the columns of :math:`Q` are an orthonormal basis of
:math:`T_u M` and :math:`J^+ Q e_i = R^{-1}e_i`. So

.. math::

    \mathrm{II}(Qa, Qa) = \sum_{i,j} a_i a_j T_{ij}, \qquad
    T_{ij} = P^\perp D^2F(\theta)[R^{-1}e_i, R^{-1}e_j] \in \mathbb{R}^n,

a symmetric tensor built with :math:`p(p+1)/2` calls of
``second_derivative``. Maximizing :math:`\|\mathrm{II}\|` over unit tangent
vectors is maximizing the quartic form :math:`f(a) = \|T(a,a)\|^2` on the unit
sphere of :math:`\mathbb{R}^p`, a largest-eigenvalue problem of a symmetric
fourth-order tensor (NP-hard in general, hence the multistart). The
shifted symmetric higher-order power method (SS-HOPM, Kolda and Mayo 2011),
:math:`a \leftarrow (g(a) + \sigma a)/\|\cdot\|` with :math:`g = \nabla f/4`,
is monotone for a large enough shift but was measured to crawl for hundreds
of iterations past saddle points of :math:`f` on the sphere (a power step
is a gradient step, and escapes a saddle only as fast as its small positive
curvature allows). So each start runs a monotone second-order ascent on the
sphere instead. At each iterate :math:`a`, with :math:`U` an orthonormal
basis of :math:`a^\perp`, the Riemannian gradient :math:`U^\top g` and
Hessian :math:`U^\top(2\,T_a T_a^\top + \sum_m T_m(a,a) T_m - f I)U` of
:math:`f/4` (:math:`T_a` the :math:`p\times n` matrix of rows
:math:`T(e_i, a)`, :math:`T_m` the slice of output :math:`m`) give up to
three candidates, and the best one is kept if it increases :math:`f`:

* the maximum on the great circle along the gradient (exact line search:
  on :math:`a\cos t + d\sin t`, :math:`T(\cdot,\cdot)` is a quadratic
  trigonometric polynomial in :math:`t`, so a grid plus Brent's method
  finds it cheaply);
* where the Hessian has a positive eigenvalue (a saddle or a minimum), the
  maximum on the great circle along its eigenvector, which escapes a saddle
  in one step;
* where the Hessian is negative definite, the Riemannian Newton step,
  which converges quadratically to the local maximum.

Before the ascent :math:`T` is divided by :math:`\|T_{(1)}\|_2`, the spectral
norm of its :math:`p \times pn` unfolding (an upper bound on
:math:`\max_{\|a\|=1}\|T(a,a)\|`), so that the stopping rule is scale-free.

*Why exactly* :math:`1/\alpha`. For :math:`F_\alpha = \alpha F_1`,
:math:`J_\alpha = \alpha J_1` has the same :math:`Q` and :math:`R_\alpha =
\alpha R_1`, so :math:`T^{(\alpha)} = \alpha\, \alpha^{-2} T^{(1)} =
T^{(1)}/\alpha`: the whole maximization is the same up to one scale factor,
and :math:`\alpha \|\mathrm{II}_\alpha\|` is constant to round-off.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.stats

from manifolds._validation import (
    NonFiniteError,
    all_finite,
    as_finite_vector,
    check_generator,
    check_positive_int,
    check_positive_real,
    check_rank_rtol,
    describe,
    max_abs,
    norm,
    scale_back,
)
from manifolds.exceptions import NotAnImmersionError
from manifolds.output_manifold import OutputManifold, _checked_jacobian
from manifolds.output_map import OutputMap

__all__ = [
    "ExponentialFit",
    "InClassOptimum",
    "SecondFundamentalFormNorm",
    "SpectrumSummary",
    "fit_exponential_rate",
    "gram_matrix",
    "neural_tangent_kernel",
    "optimal_in_class_risk",
    "pl_constant",
    "second_fundamental_form_norm",
    "spectrum_summary",
]

_EPS = np.finfo(np.float64).eps
KERNELS = ("gram", "ntk")
# The ascent for the norm of II stops when f = |II(a, a)|^2 gains less than this.
_SFF_RTOL = 1e-12
_SFF_MAX_ITER = 500
_CIRCLE_GRID = 181


# ----------------------------------------------------------------------
# Validation helpers


def _check_output_map(output_map) -> tuple[int, int]:
    if not isinstance(output_map, OutputMap):
        raise TypeError(
            "`output_map` must implement manifolds.OutputMap (n_params, n_outputs, "
            "value, jacobian, jvp, vjp, second_derivative, "
            f"weighted_hessian_vector), got {type(output_map).__name__}"
        )
    return int(output_map.n_outputs), int(output_map.n_params)


def _check_manifold(manifold) -> OutputManifold:
    if not isinstance(manifold, OutputManifold):
        raise TypeError(
            "`manifold` must be a manifolds.OutputManifold, got "
            f"{type(manifold).__name__}"
        )
    return manifold


def _jacobian(output_map, params) -> np.ndarray:
    n, p = _check_output_map(output_map)
    params = as_finite_vector("params", params, p)
    return _checked_jacobian(output_map, params, n, p)


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    return value


def _check_product(matrix: np.ndarray, what: str, J: np.ndarray) -> np.ndarray:
    """``matrix`` (a product of Jacobians) if it is finite, else a clear error."""
    if all_finite(matrix):
        return matrix
    raise NonFiniteError(
        f"{what} is not finite, it overflows float64: the Jacobian's largest entry is {max_abs(J):.3e}, "
        "and its square exceeds the largest float; the model's scale (`alpha`) is "
        "too large for this product. Use riemgn.theory.spectrum_summary, which "
        "works from the singular values of J"
    )


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# ----------------------------------------------------------------------
# Gram matrix, kernel, spectra


def gram_matrix(output_map: OutputMap, params) -> np.ndarray:
    r"""The Gram (Gauss-Newton) matrix :math:`G = J^\top J`.

    .. math::

        G(\theta) = J(\theta)^\top J(\theta),

    where

    - :math:`J(\theta) = DF(\theta) \in \mathbb{R}^{n \times p}` is the Jacobian
      of the output map at the parameters :math:`\theta`.

    This is a diagnostic only. Its spectrum should be taken from
    :func:`riemgn.theory.spectrum_summary`, which works from the singular
    values of :math:`J`: the eigenvalues of the formed matrix carry an
    absolute error of about :math:`\varepsilon\lambda_{max}`, so those below
    :math:`\varepsilon\lambda_{max}` are lost. Never solve with :math:`G`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F: \mathbb{R}^p \to \mathbb{R}^n`.
    params : ndarray, shape (n_params,)
        The parameters :math:`\theta`.

    Returns
    -------
    ndarray, shape (n_params, n_params)
        Symmetric positive semi-definite.

    Raises
    ------
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`.
    ValueError
        If ``params`` has the wrong shape or is not finite, or the Jacobian
        or :math:`G` is not finite (overflows float64).

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap
    >>> A = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> gram_matrix(AutogradOutputMap(lambda w: A @ w, n_params=2), np.zeros(2))
    array([[1., 0.],
           [0., 4.]])
    """
    J = _jacobian(output_map, params)
    with np.errstate(all="ignore"):
        G = J.T @ J
        G = 0.5 * (G + G.T)
    return _check_product(G, "G = J^T J", J)


def neural_tangent_kernel(output_map: OutputMap, params) -> np.ndarray:
    r"""The empirical neural tangent kernel :math:`K = JJ^\top`.

    .. math::

        K(\theta) = J(\theta) J(\theta)^\top, \qquad
        K_{jk} = \langle \nabla_\theta f(x_j;\theta), \nabla_\theta f(x_k;\theta)\rangle,

    where

    - :math:`J(\theta) \in \mathbb{R}^{n \times p}` is the Jacobian of the
      output map,
    - :math:`f(x_j; \theta) = F_j(\theta)` is the model's output on sample
      :math:`j`.

    When ``output_map`` has a ``neural_tangent_kernel(params)`` method (as
    :class:`~riemgn.networks.TwoLayerOutputMap` does, in closed
    form, at cost :math:`O(n^2(m+d))`), it is used; otherwise :math:`J` is
    formed and multiplied. As for :func:`riemgn.theory.gram_matrix`, take the
    spectrum from :func:`riemgn.theory.spectrum_summary` with
    ``kernel="ntk"``.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F: \mathbb{R}^p \to \mathbb{R}^n`.
    params : ndarray, shape (n_params,)
        The parameters :math:`\theta`.

    Returns
    -------
    ndarray, shape (n_outputs, n_outputs)
        Symmetric positive semi-definite.

    Raises
    ------
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`.
    ValueError
        If ``params`` has the wrong shape or is not finite, or the kernel (or
        Jacobian) is not finite or has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap
    >>> A = np.array([[1.0, 1.0], [0.0, 2.0]])
    >>> neural_tangent_kernel(AutogradOutputMap(lambda w: A @ w, n_params=2), np.zeros(2))
    array([[2., 2.],
           [2., 4.]])
    """
    n, p = _check_output_map(output_map)
    closed_form = getattr(output_map, "neural_tangent_kernel", None)
    if not callable(closed_form):
        J = _jacobian(output_map, params)
        with np.errstate(all="ignore"):
            K = J @ J.T
            K = 0.5 * (K + K.T)
        return _check_product(K, "K = J J^T", J)
    params = as_finite_vector("params", params, p)
    with np.errstate(all="ignore"):
        K = np.asarray(closed_form(params), dtype=np.float64)
    if K.shape != (n, n):
        raise ValueError(
            f"the output map's neural_tangent_kernel has shape {K.shape}, expected "
            f"({n}, {n})"
        )
    if not np.all(np.isfinite(K)):
        raise NonFiniteError(
            "the neural tangent kernel K(params) holds NaN or inf values"
        )
    return K


@dataclass(frozen=True)
class SpectrumSummary:
    r"""The spectrum of :math:`G = J^\top J` or :math:`K = JJ^\top`, from the SVD of :math:`J`.

    Attributes
    ----------
    lambda_min : float
        The smallest eigenvalue (0 when the matrix is singular, in particular
        for :math:`G` when :math:`p > n` and for :math:`K` when :math:`n > p`).
    lambda_max : float
        The largest eigenvalue, :math:`\sigma_{max}(J)^2`.
    condition_number : float
        ``lambda_max / lambda_min``; ``inf`` when ``lambda_min == 0``.
    rank : int
        The number of eigenvalues above ``tolerance`` (the numerical rank of
        :math:`J`).
    eigenvalues : ndarray, shape (p,) for G or (n,) for K
        All eigenvalues, in decreasing order (read-only): the squared singular
        values of :math:`J`, padded with zeros.
    tolerance : float
        The rank threshold, in eigenvalue units: ``(rank_rtol * sigma_max)**2``,
        the square of the threshold on the singular values of :math:`J`.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap
    >>> A = np.array([[2.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    >>> output_map = AutogradOutputMap(lambda w: A @ w, n_params=2)
    >>> summary = spectrum_summary(output_map, np.zeros(2))  # of G = A^T A
    >>> print(f"{summary.lambda_max:.6g} {summary.lambda_min:.6g} {summary.condition_number:.6g}")
    4 1e-06 4e+06
    >>> summary.rank, summary.eigenvalues.shape
    (2, (2,))
    """

    lambda_min: float
    lambda_max: float
    condition_number: float
    rank: int
    eigenvalues: np.ndarray
    tolerance: float


def spectrum_summary(
    output_map: OutputMap,
    params,
    *,
    kernel: str = "gram",
    rank_rtol: float | None = None,
) -> SpectrumSummary:
    r"""The spectrum of the Gram matrix or the kernel, as squared singular values of :math:`J`.

    .. math::

        \lambda_i(G) = \lambda_i(K) = \sigma_i(J)^2, \quad i \le \min(n, p),
        \qquad \kappa = \frac{\lambda_{max}}{\lambda_{min}},

    where

    - :math:`\sigma_1 \ge \dots \ge \sigma_{\min(n,p)} \ge 0` are the
      singular values of the Jacobian :math:`J(\theta) \in \mathbb{R}^{n\times p}`,
    - :math:`G = J^\top J` (:math:`p \times p`) has, in addition,
      :math:`p - \min(n,p)` zero eigenvalues and :math:`K = JJ^\top`
      (:math:`n\times n`) has :math:`n - \min(n,p)`,
    - :math:`\kappa` is the condition number (:math:`\infty` if
      :math:`\lambda_{min} = 0`).

    Singular values come from ``scipy.linalg.svdvals`` of :math:`J`, not
    from an eigen-solver applied to :math:`J^\top J`: they keep an absolute
    error of :math:`\varepsilon\sigma_{max}` on each :math:`\sigma_i`, so
    eigenvalues far below :math:`\varepsilon\lambda_{max}` are still
    resolved, and condition numbers beyond :math:`10^{16}` are measurable.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F: \mathbb{R}^p \to \mathbb{R}^n`.
    params : ndarray, shape (n_params,)
        The parameters :math:`\theta`.
    kernel : {"gram", "ntk"}, default "gram"
        ``"gram"`` for :math:`G = J^\top J` (size :math:`p`, the
        underparameterized regime), ``"ntk"`` for :math:`K = JJ^\top`
        (size :math:`n`, the overparameterized regime).
    rank_rtol : float, optional
        Singular values at or below ``rank_rtol * sigma_max`` count as zero
        for ``rank``. The default is ``max(n, p) * eps``, as in
        ``numpy.linalg.matrix_rank`` and
        :class:`~manifolds.OutputManifold`.

    Returns
    -------
    SpectrumSummary
        The extreme eigenvalues, the condition number, the rank and the
        whole spectrum (a :class:`riemgn.theory.SpectrumSummary`).

    Raises
    ------
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`.
    ValueError
        If ``kernel`` is unknown, ``rank_rtol`` is not in (0, 1), ``params``
        has the wrong shape or is not finite, the Jacobian is not finite, or
        :math:`\lambda_{max} = \sigma_{max}^2` overflows float64.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap
    >>> A = np.array([[1.0, 0.5], [0.0, 1e-10], [0.0, 0.0]])
    >>> output_map = AutogradOutputMap(lambda w: A @ w, n_params=2)
    >>> gram = spectrum_summary(output_map, np.zeros(2))
    >>> print(f"{gram.lambda_min:.3g} {gram.condition_number:.3g} {gram.rank}")
    8e-21 1.56e+20 2
    >>> ntk = spectrum_summary(output_map, np.zeros(2), kernel="ntk")
    >>> ntk.eigenvalues.shape, ntk.rank, ntk.condition_number
    ((3,), 2, inf)
    """
    if not isinstance(kernel, str) or kernel not in KERNELS:
        raise ValueError(f"`kernel` must be one of {KERNELS}, got {describe(kernel)}")
    n, p = _check_output_map(output_map)
    if rank_rtol is None:
        rank_rtol = max(n, p) * _EPS
    rank_rtol = check_rank_rtol(rank_rtol)
    J = _jacobian(output_map, params)
    singular_values = scipy.linalg.svdvals(J, check_finite=False)
    size = p if kernel == "gram" else n
    eigenvalues = np.zeros(size)
    with np.errstate(over="ignore", under="ignore"):
        eigenvalues[: singular_values.size] = singular_values**2
    sigma_max = float(singular_values[0]) if singular_values.size else 0.0
    if not math.isfinite(float(eigenvalues[0])):
        raise NonFiniteError(
            f"the spectrum of {'G = J^T J' if kernel == 'gram' else 'K = J J^T'} "
            f"is not finite, it overflows float64: sigma_max(J) = {sigma_max:.3e}, and its square "
            "exceeds the largest float; the model's scale (`alpha`) is too large"
        )
    threshold = rank_rtol * sigma_max
    rank = int(np.sum(singular_values > threshold)) if sigma_max > 0 else 0
    lambda_max, lambda_min = float(eigenvalues[0]), float(eigenvalues[-1])
    condition = math.inf if lambda_min == 0 else lambda_max / lambda_min
    if lambda_min == 0 and size == singular_values.size and singular_values[-1] > 0:
        # lambda_min underflowed: the ratio of the singular values still holds.
        ratio = float(singular_values[0] / singular_values[-1])
        condition = ratio * ratio
    return SpectrumSummary(
        lambda_min=lambda_min,
        lambda_max=lambda_max,
        condition_number=condition,
        rank=rank,
        eigenvalues=_readonly(eigenvalues),
        tolerance=threshold**2,
    )


# ----------------------------------------------------------------------
# Second fundamental form


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
    info = manifold.rank_info(params)
    if info.rank < p:
        raise NotAnImmersionError(
            f"J(theta) is rank-deficient at this point: numerical rank {info.rank} "
            f"< n_params = {p} (tolerance {info.tolerance:.3e}); the second "
            "fundamental form is not defined where F is not an immersion"
        )
    J = _jacobian(output_map, params)
    Q, R = scipy.linalg.qr(J, mode="economic", check_finite=False)
    V = scipy.linalg.solve_triangular(R, np.eye(p), check_finite=False)  # R^{-1}
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
    size_r = max_abs(R)
    with np.errstate(all="ignore"):
        W = scipy.linalg.solve_triangular(R / size_r, np.eye(p), check_finite=False)
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
        U = scipy.linalg.qr(a[:, None])[0][:, 1:]  # an orthonormal basis of a^perp
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


# ----------------------------------------------------------------------
# Polyak-Lojasiewicz constant


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


# ----------------------------------------------------------------------
# Exponential rate


@dataclass(frozen=True)
class ExponentialFit:
    r"""An exponential :math:`e(t) \approx A e^{-r t}` fitted to a decaying excess.

    Attributes
    ----------
    rate : float
        The rate :math:`r`: minus the least-squares slope of :math:`\log e`
        against :math:`t` over the window.
    log_intercept : float
        :math:`\log A`, the fitted :math:`\log e` at :math:`t = 0`.
    r_squared : float
        The coefficient of determination of the line on :math:`\log e`
        (1 for an exact exponential).
    max_residual : float
        :math:`\max |\log e_k - (\log A - r t_k)|` over the window, in
        natural-log units (0.01 is a 1% relative deviation).
    t_start, t_end : float
        The first and last time of the window.
    n_points : int
        The number of samples in the window.
    reliable : bool
        ``n_points >= 5 and r_squared >= 0.999``. When False the decay
        over the window is not exponential (a power law, a plateau, a
        floor inside the window) or too few samples support the fit.
    robust_rate : float
        Minus the Theil-Sen slope (``scipy.stats.theilslopes``): a
        cross-check, insensitive to a few outliers. It agrees with ``rate``
        for a clean exponential.

    Examples
    --------
    A clean exponential, and a decay with a second, slower mode inside the
    window, which the fit flags as not exponential:

    >>> import numpy as np
    >>> t = np.linspace(0.0, 10.0, 101)
    >>> fit = fit_exponential_rate(t, 1e-3 * np.exp(-3.0 * t))
    >>> round(fit.rate, 9), round(fit.robust_rate, 9), fit.reliable
    (3.0, 3.0, True)
    >>> mixed = fit_exponential_rate(t, np.exp(-t) + 1e-3 * np.exp(-0.1 * t))
    >>> mixed.reliable, bool(mixed.r_squared < 0.99)
    (False, True)
    """

    rate: float
    log_intercept: float
    r_squared: float
    max_residual: float
    t_start: float
    t_end: float
    n_points: int
    reliable: bool
    robust_rate: float


_MIN_FIT_POINTS = 3
_RELIABLE_POINTS = 5
_RELIABLE_R_SQUARED = 0.999
_THEIL_SEN_MAX_POINTS = 1000


def fit_exponential_rate(
    times,
    excess,
    *,
    window: tuple[float, float] = (1e-2, 1e-10),
    floor: float | None = None,
) -> ExponentialFit:
    r"""Fit an exponential rate :math:`e(t) \approx A e^{-rt}` to a decaying excess risk.

    .. math::

        \min_{r,\ \log A} \sum_{k \in W} \big(\log e_k - \log A + r t_k\big)^2,

    where

    - :math:`e_k = h(u_{t_k}) - h^*` is the excess at time :math:`t_k`,
    - :math:`W` is the fit window: the samples from the first one, at or after
      the largest excess :math:`e_{ref} = \max_k e_k`, with
      :math:`e_k \le w_0\, e_{ref}`, up to the last one before the excess
      first drops below :math:`\max(w_1 e_{ref}, \text{floor})`, with
      :math:`(w_0, w_1)` = ``window``.

    The upper bound skips the transient before the asymptotic regime; the
    lower bound and the floor stop the fit before round-off (or an
    inaccurate :math:`h^*`) flattens the curve. The window ends at the
    *first* drop below the lower bound: the excess of a gradient flow is
    non-increasing, so a later sample back above the bound is noise on the
    floor, and must not stretch the window across it. Non-positive excess
    values are below any floor and so end the window too.

    ``rate`` is the least-squares slope, consistent with ``r_squared`` and
    ``max_residual``, which describe the same line; for the smooth, noise-free
    curves of integrated flows it is the more accurate estimator. The
    Theil-Sen slope is reported as ``robust_rate`` (on at most 1000 evenly
    thinned samples of the window, since it costs :math:`O(k^2)`).

    Parameters
    ----------
    times : array_like, shape (k,)
        Strictly increasing, finite times.
    excess : array_like, shape (k,)
        The finite excess :math:`h(u_t) - h^*` at those times (values
        :math:`\le 0` may occur at the round-off floor).
    window : tuple of float, default (1e-2, 1e-10)
        ``(upper, lower)`` with ``1 >= upper > lower > 0``, relative to the
        largest excess.
    floor : float, optional
        An absolute floor: samples below it are not fitted. By default
        ``1e3 * eps * max(excess)``, well above round-off in the excess.

    Returns
    -------
    ExponentialFit
        The rate, the intercept, the quality of the fit and its window (an
        :class:`riemgn.theory.ExponentialFit`).

    Raises
    ------
    ValueError
        If ``times`` is not strictly increasing, the shapes differ, a value is
        not finite, no excess is positive, ``window`` or ``floor`` is out of
        range, fewer than 3 samples lie in the window, or the fitted rate
        overflows float64 (``times`` spanning less than about ``1e-305``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 20.0, 201)
    >>> fit = fit_exponential_rate(t, 3.0 * np.exp(-2.0 * t))
    >>> round(fit.rate, 12), round(float(np.exp(fit.log_intercept)), 12), fit.reliable
    (2.0, 3.0, True)
    >>> round(fit.t_start, 12), round(fit.t_end, 12), fit.n_points  # 1e-2 to 1e-10
    (2.4, 11.5, 92)
    """
    times = as_finite_vector("times", times)
    excess = _as_excess(excess, times.shape[0])
    upper, lower = _check_window(window)
    if times.size >= 2 and np.any(np.diff(times) <= 0):
        k = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise ValueError(
            f"`times` must be strictly increasing, but times[{k + 1}] = "
            f"{times[k + 1]!r} <= times[{k}] = {times[k]!r}"
        )
    if times.size == 0 or not np.any(excess > 0):
        raise ValueError(
            "`excess` must hold at least one positive value to fit a decay, got "
            f"{describe(excess)}"
        )
    peak = int(np.argmax(excess))
    reference = float(excess[peak])
    if floor is None:
        floor = 1e3 * _EPS * reference
    else:
        floor = check_positive_real("floor", floor, allow_zero=True)
    bottom = max(lower * reference, floor)
    described = (
        f"window = ({upper:g}, {lower:g}) x max excess {reference:.3e} = "
        f"[{lower * reference:.3e}, {upper * reference:.3e}], floor {floor:.3e}"
    )
    below_top = np.flatnonzero(excess[peak:] <= upper * reference)
    start = peak + int(below_top[0]) if below_top.size else times.size
    below_bottom = np.flatnonzero(excess[start:] < bottom)
    stop = start + int(below_bottom[0]) if below_bottom.size else times.size
    n_points = stop - start
    if n_points < _MIN_FIT_POINTS:
        raise ValueError(
            f"only {n_points} sample(s) of `excess` lie in the fit window ({described}); "
            f"need at least {_MIN_FIT_POINTS}: sample the decay more densely or "
            "widen `window`"
        )
    t, y = times[start:stop], np.log(excess[start:stop])
    with np.errstate(all="ignore"):
        t_mean, y_mean = float(t.mean()), float(y.mean())
        dt = t - t_mean
        spread = dt @ dt
        slope = float(dt @ (y - y_mean) / spread)
    if not (math.isfinite(slope) and _SPREAD_TINY < spread < math.inf):
        # Times near 1e+-300: dt @ dt over- or underflows. Fit in units of
        # the largest |t|, then convert the slope back.
        unit = max_abs(t)
        tau = t / unit
        tau_mean = float(tau.mean())
        dtau = tau - tau_mean
        with np.errstate(over="ignore"):
            slope = float(dtau @ (y - y_mean) / (dtau @ dtau)) / unit
        t_mean = tau_mean * unit
    if not math.isfinite(slope):
        raise NonFiniteError(
            "the fitted rate is not finite: the decay is too fast or too slow for "
            f"float64 on `times` from {t[0]:.3e} to {t[-1]:.3e}; rescale `times`"
        )
    with np.errstate(over="ignore", under="ignore"):
        intercept = y_mean - slope * t_mean
        residuals = y - (intercept + slope * t)
    ss_res = float(residuals @ residuals)
    ss_tot = float((y - y_mean) @ (y - y_mean))
    r_squared = 1.0 if ss_res == 0 else 1.0 - ss_res / ss_tot
    thin = np.unique(np.linspace(0, n_points - 1, _THEIL_SEN_MAX_POINTS).astype(int))
    robust_slope = float(scipy.stats.theilslopes(y[thin], t[thin]).slope)
    return ExponentialFit(
        rate=-slope,
        log_intercept=float(intercept),
        r_squared=float(r_squared),
        max_residual=float(np.max(np.abs(residuals))),
        t_start=float(t[0]),
        t_end=float(t[-1]),
        n_points=int(n_points),
        reliable=bool(
            n_points >= _RELIABLE_POINTS and r_squared >= _RELIABLE_R_SQUARED
        ),
        robust_rate=-robust_slope,
    )


# Below this, dt @ dt has lost the squares of the small time differences.
_SPREAD_TINY = 1e-280


def _as_excess(excess, size: int) -> np.ndarray:
    if np.shape(excess) != (size,):
        raise ValueError(
            f"`excess` must have the shape of `times`, ({size},), got shape "
            f"{np.shape(excess)}"
        )
    return as_finite_vector("excess", excess, size)


def _check_window(window) -> tuple[float, float]:
    try:
        upper, lower = (float(value) for value in window)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`window` must be a pair (upper, lower) of reals, got {describe(window)}"
        ) from error
    if not (math.isfinite(upper) and math.isfinite(lower) and 1.0 >= upper > lower > 0):
        raise ValueError(
            "`window` must be (upper, lower) with 1 >= upper > lower > 0, relative "
            f"to the largest excess, got {describe(window)}"
        )
    return upper, lower


# ----------------------------------------------------------------------
# The optimal in-class risk


@dataclass(frozen=True)
class InClassOptimum:
    r"""The optimal in-class risk :math:`h^* = \min_\theta h(F(\theta))` near :math:`\theta_0`, cross-checked.

    Attributes
    ----------
    risk : float
        :math:`h^*` from the Gauss-Newton run.
    params : ndarray, shape (n_params,)
        Its minimizer :math:`\theta^*`.
    outputs : ndarray, shape (n_outputs,)
        The optimal in-class predictor :math:`u^* = F(\theta^*)`.
    gradient_norm : float
        :math:`\|J^\top\nabla h\|` at :math:`\theta^*`.
    n_iter : int
        Gauss-Newton iterations.
    reference_risk : float
        The risk found by the independent scipy solver.
    reference_method : str
        ``"least_squares/trf"``.
    difference : float
        :math:`|h^*_{GN} - h^*_{ref}|`.
    tolerance : float
        The agreement required of ``difference``.
    consistent : bool
        Whether the two agree to ``tolerance``.
    message : str
        How the Gauss-Newton run ended.

    Examples
    --------
    A realizable teacher-student problem: the optimal in-class risk is 0
    and the optimal predictor is the teacher's output.

    >>> import numpy as np
    >>> from riemgn.data import teacher_student
    >>> from riemgn.losses import SquaredLoss
    >>> problem = teacher_student(20, 2, 2, rng=np.random.default_rng(0))
    >>> optimum = optimal_in_class_risk(
    ...     problem.output_map, problem.params0, SquaredLoss(problem.y)
    ... )
    >>> optimum.consistent, optimum.risk < 1e-20
    (True, True)
    >>> bool(np.allclose(optimum.outputs, problem.clean_targets))
    True
    """

    risk: float
    params: np.ndarray
    outputs: np.ndarray
    gradient_norm: float
    n_iter: int
    reference_risk: float
    reference_method: str
    difference: float
    tolerance: float
    consistent: bool
    message: str


def optimal_in_class_risk(
    output_map: OutputMap,
    params0,
    loss,
    *,
    max_iter: int = 1000,
    gtol: float = 1e-13,
    rtol: float = 1e-9,
) -> InClassOptimum:
    r"""The optimal in-class risk :math:`h^*`, by a long Gauss-Newton run checked against scipy.

    The Gauss-Newton iteration with Armijo backtracking,

    .. math::

        \theta_{k+1} = \theta_k - t_k J^+ (u_k - y), \qquad
        h(F(\theta_{k+1})) \le h(F(\theta_k)) - 10^{-4} t_k\,
        \nabla h^\top P (u_k - y),

    where :math:`u_k = F(\theta_k)`, :math:`\nabla h = s(u_k - y)`,
    :math:`J^+ = R^{-1}Q^\top` (thin QR), :math:`P = QQ^\top` and
    :math:`t_k \in \{1, \tfrac12, \tfrac14, \dots\}`, runs until
    :math:`\|J^\top \nabla h\| \le` ``gtol`` :math:`\max(1, \|J^\top\nabla h\|_0)`
    or until the risk stops decreasing in float64, or until :math:`J` loses
    rank (the optimum is then not attained near :math:`\theta_0`: neurons
    saturate, and ``consistent`` is usually False). This is the discrete
    counterpart of the GN flow, whose limit is the optimal in-class predictor
    (a local minimizer near :math:`\theta_0`).

    The result is cross-checked from the same start by
    ``scipy.optimize.least_squares`` (``method="trf"``) on the residual
    :math:`\sqrt{s}(F(\theta) - y)`. Only the squared loss is supported: for
    other losses :math:`-J^+\nabla h` has no curvature model of :math:`h`
    and the run can stall far from the optimum. The two agree when
    :math:`|h^*_{GN} - h^*_{ref}| \le` ``rtol`` :math:`\max(h^*_{GN}, h^*_{ref})
    + 10^3 \epsilon\, h(F(\theta_0))`.

    Parameters
    ----------
    output_map : OutputMap
        An underparameterized map (:math:`p \le n`).
    params0 : ndarray, shape (n_params,)
        The start :math:`\theta_0`.
    loss : SquaredLoss
        The squared loss :math:`\tfrac{s}{2}\|u - y\|^2`.
    max_iter : int, default 1000
        The iteration budget of the Gauss-Newton run.
    gtol : float, default 1e-13
        The relative gradient tolerance.
    rtol : float, default 1e-9
        The relative agreement required of the cross-check.

    Returns
    -------
    InClassOptimum
        The risk, minimizer and predictor, with the scipy cross-check (a
        :class:`riemgn.theory.InClassOptimum`).

    Raises
    ------
    ValueError
        If ``params0`` is not finite or has the wrong shape, the loss does not
        match the outputs, :math:`p > n`, an option is out of range, or the
        output map (or its Jacobian) is not finite at ``params0``.
    TypeError
        If ``loss`` is not a :class:`~riemgn.losses.SquaredLoss`, or
        ``output_map`` does not implement :class:`~manifolds.OutputMap`.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> network = TwoLayerNetwork(2, 2)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(rng.normal(size=(30, 2)))
    >>> y = F.value(theta0 + 0.3 * rng.normal(size=4)) + 0.1 * rng.normal(size=30)
    >>> optimum = optimal_in_class_risk(F, theta0, SquaredLoss(y))
    >>> optimum.consistent, optimum.reference_method
    (True, 'least_squares/trf')
    """
    from riemgn._linalg import RankDeficiencyError, gauss_newton_direction
    from riemgn.losses import SquaredLoss

    n, p = _check_output_map(output_map)
    if not isinstance(loss, SquaredLoss):
        raise TypeError(
            "`loss` must be a riemgn.losses.SquaredLoss: the optimal in-class risk is "
            f"computed for the squared loss only, got {type(loss).__name__}"
        )
    params = as_finite_vector("params0", params0, p).copy()
    if getattr(loss, "n_outputs", None) != n:
        raise ValueError(
            f"the loss has n_outputs = {getattr(loss, 'n_outputs', None)} but the output "
            f"map has n_outputs = {n}"
        )
    if p > n:
        raise ValueError(
            f"the optimal in-class risk needs p <= n, got n_params = {p} > n_outputs = {n}"
        )
    max_iter = check_positive_int("max_iter", max_iter)
    gtol = check_positive_real("gtol", gtol)
    rtol = check_positive_real("rtol", rtol)

    def risk_at(theta):
        u = np.asarray(output_map.value(theta), dtype=np.float64)
        return (loss.value(u), u) if np.all(np.isfinite(u)) else (math.inf, u)

    risk, u = risk_at(params)
    if not math.isfinite(risk):
        raise NonFiniteError(
            "the risk h(F(params0)) is not finite: the output map or the loss "
            f"overflows float64 at `params0` (max |params0| = {max_abs(params):.3e})"
        )
    curvature = 1.0 / n if loss.mean else 1.0  # h = (s/2)|u - y|^2
    initial_risk = risk
    scale = None
    message = f"the iteration budget max_iter = {max_iter} ran out"
    n_iter = 0
    gradient_norm = math.inf
    while n_iter < max_iter:
        n_iter += 1
        g = loss.gradient(u)
        J = _jacobian(output_map, params)
        with np.errstate(all="ignore"):
            gradient_norm = norm(J.T @ g)
        if not math.isfinite(gradient_norm):
            raise NonFiniteError(
                "J^T grad h is not finite, it overflows float64 during the Gauss-Newton run (max |J| = "
                f"{max_abs(J):.3e}, max |grad h| = {max_abs(g):.3e}); the model's "
                "scale (`alpha`) or the targets are too large"
            )
        scale = max(1.0, gradient_norm) if scale is None else scale
        if gradient_norm <= gtol * scale:
            message = (
                f"converged: |J^T grad h| = {gradient_norm:.3e} <= gtol x {scale:.3e}"
            )
            break
        try:
            # The Gauss-Newton step of the residual u - y = grad h / s.
            direction = -gauss_newton_direction(
                J, g / curvature, solver="qr", rank_rtol=max(n, p) * _EPS
            )
        except RankDeficiencyError as error:
            message = f"stopped: {error}"
            break
        slope = float(g @ (J @ direction))  # = -g^T P g / s
        step, accepted = 1.0, False
        while step > 1e-12:
            trial = params + step * direction
            trial_risk, trial_u = risk_at(trial)
            if trial_risk <= risk + 1e-4 * step * slope:
                accepted = True
                break
            step *= 0.5
        if not accepted or trial_risk >= risk:
            message = (
                f"converged: the risk no longer decreases in float64 "
                f"(|J^T grad h| = {gradient_norm:.3e})"
            )
            break
        params, risk, u = trial, trial_risk, trial_u

    reference_method, reference_risk = _reference_optimum(output_map, params0, loss, p)
    difference = abs(risk - reference_risk)
    tolerance = rtol * max(risk, reference_risk) + 1e3 * _EPS * initial_risk
    params.flags.writeable = False
    u = np.array(u)
    u.flags.writeable = False
    return InClassOptimum(
        risk=float(risk),
        params=params,
        outputs=u,
        gradient_norm=gradient_norm,
        n_iter=n_iter,
        reference_risk=float(reference_risk),
        reference_method=reference_method,
        difference=float(difference),
        tolerance=float(tolerance),
        consistent=bool(difference <= tolerance),
        message=message,
    )


def _reference_optimum(output_map, params0, loss, p):
    root = math.sqrt(1.0 / loss.n_outputs if loss.mean else 1.0)
    solution = scipy.optimize.least_squares(
        lambda theta: root * (np.asarray(output_map.value(theta)) - loss.y),
        np.asarray(params0, dtype=np.float64),
        jac=lambda theta: root * _jacobian(output_map, theta),
        method="trf",
        x_scale="jac",
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
        max_nfev=200 * max(p, 5),
    )
    return "least_squares/trf", 0.5 * float(solution.fun @ solution.fun)
