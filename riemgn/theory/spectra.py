"""The Gram matrix, the neural tangent kernel and their spectra."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from manifolds.linalg import singular_values as _singular_values
from manifolds.output_map import OutputMap
from manifolds.validation import (
    NonFiniteError,
    as_finite_vector,
    check_rank_rtol,
    describe,
)
from riemgn.theory._common import (
    _EPS,
    KERNELS,
    _check_output_map,
    _check_product,
    _jacobian,
    _readonly,
)

__all__ = [
    "SpectrumSummary",
    "gram_matrix",
    "neural_tangent_kernel",
    "spectrum_summary",
]


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

    Singular values come from the SVD of :math:`J`
    (:func:`manifolds.linalg.singular_values`), not
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
    singular_values = _singular_values(J)
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
