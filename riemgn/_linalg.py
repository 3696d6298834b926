r"""The linear algebra behind the Gauss-Newton and Levenberg-Marquardt steps.

Every direction is computed from a factorization of :math:`J` itself, never
from :math:`J^\top J` (which squares the condition number), except in the
deliberately naive ``"normal_equations"`` variant kept for comparison.

* Gauss-Newton, :math:`\eta = J^+ g`: thin QR :math:`J = QR`, then
  :math:`R\eta = Q^\top g` (``"qr"``), or LAPACK's SVD-based least squares
  (``"lstsq"``).
* Levenberg-Marquardt, :math:`\eta = (J^\top J + \lambda I)^{-1} J^\top g`:

  - underparameterized (:math:`p \le n`): the stacked least-squares problem
    :math:`\min_\eta \|[J; \sqrt\lambda I]\eta - [g; 0]\|` by QR;
  - overparameterized (:math:`p > n`): the kernel form
    :math:`J^\top (K + \lambda I)^{-1} g` with :math:`K = JJ^\top`, applied
    through the eigendecomposition :math:`K = U\Lambda U^\top` as
    :math:`J^\top U(\Lambda + \lambda)^{-1} U^\top g` (``"eigh"``), or through
    the thin SVD :math:`J = U\Sigma V^\top` as
    :math:`V \Sigma(\Sigma^2 + \lambda)^{-1} U^\top g` (``"svd"``). Only
    :math:`n \times n` and :math:`n \times p` arrays are allocated, never
    :math:`p \times p`, and :math:`\lambda_{min}(K)` comes for free.

    ``"eigh"`` forms :math:`K`, so it resolves eigenvalues of :math:`K` only
    down to about :math:`\epsilon\,\lambda_{max}(K)` (ratios
    :math:`\lambda_{min}/\lambda_{max} \gtrsim 10^{-13}`); it can use a
    closed-form kernel and is several times faster. ``"svd"`` resolves
    :math:`\sigma_{min}(J)` to relative accuracy :math:`\epsilon \cdot
    \operatorname{cond}(J)`, for kernels beyond that range.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = [
    "GN_SOLVERS",
    "KERNEL_SOLVERS",
    "RankDeficiencyError",
    "KernelFactorization",
    "gauss_newton_direction",
    "kernel_factorization",
    "stacked_lm_direction",
]

GN_SOLVERS = ("qr", "lstsq", "normal_equations")


class RankDeficiencyError(np.linalg.LinAlgError):
    """:math:`J` lost rank: its smallest singular value fell below the tolerance."""

    def __init__(self, rank: int, n_params: int, ratio: float, rank_rtol: float):
        self.rank = rank
        self.n_params = n_params
        self.ratio = ratio
        self.rank_rtol = rank_rtol
        super().__init__(
            f"J(theta) lost rank: sigma_min/sigma_max = {ratio:.3e} <= rank_rtol = "
            f"{rank_rtol:.3e} (numerical rank {rank} < n_params = {n_params})"
        )


def _check_triangular_rank(R: np.ndarray, rank_rtol: float) -> float:
    """The ratio sigma_min/sigma_max of R; raises when it is at most ``rank_rtol``."""
    singular_values = scipy.linalg.svdvals(R, check_finite=False)
    if singular_values.size == 0:
        return 1.0
    largest = singular_values[0]
    ratio = 0.0 if largest == 0 else float(singular_values[-1] / largest)
    if not ratio > rank_rtol:
        rank = int(np.sum(singular_values > rank_rtol * largest))
        raise RankDeficiencyError(rank, R.shape[1], ratio, rank_rtol)
    return ratio


def gauss_newton_direction(
    J: np.ndarray,
    g: np.ndarray,
    *,
    solver: str = "qr",
    rank_rtol: float,
    return_sigma_ratio: bool = False,
):
    r"""The Gauss-Newton direction :math:`J^+ g` of an ``(n, p)`` Jacobian with ``p <= n``.

    With ``return_sigma_ratio``, also :math:`\sigma_{min}(J)/\sigma_{max}(J)`,
    a by-product of the rank check (NaN for ``"normal_equations"``, which
    does not compute it).

    Raises
    ------
    RankDeficiencyError
        If :math:`\sigma_{min}(J) \le` ``rank_rtol`` :math:`\sigma_{max}(J)`.
    """
    if solver == "qr":
        Q, R = scipy.linalg.qr(J, mode="economic", check_finite=False)
        ratio = _check_triangular_rank(R, rank_rtol)
        eta = scipy.linalg.solve_triangular(R, Q.T @ g, check_finite=False)
        return (eta, ratio) if return_sigma_ratio else eta
    if solver == "lstsq":
        eta, _, rank, singular_values = scipy.linalg.lstsq(
            J, g, cond=rank_rtol, check_finite=False
        )
        ratio = float(singular_values[-1] / singular_values[0])
        if rank < J.shape[1]:
            raise RankDeficiencyError(int(rank), J.shape[1], ratio, rank_rtol)
        return (eta, ratio) if return_sigma_ratio else eta
    if solver == "normal_equations":
        # The practitioner's (J^T J)^{-1} J^T g, kept to make its loss of
        # accuracy visible: cond(J^T J) = cond(J)^2. scipy warns when G is
        # ill-conditioned; that is the point of this variant, so silence it.
        G = J.T @ J
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            try:
                eta = scipy.linalg.solve(G, J.T @ g, assume_a="pos", check_finite=False)
            except np.linalg.LinAlgError as error:
                raise RankDeficiencyError(-1, J.shape[1], 0.0, rank_rtol) from error
        return (eta, math.nan) if return_sigma_ratio else eta
    raise ValueError(f"`solver` must be one of {GN_SOLVERS}, got {solver!r}")


def stacked_lm_direction(J: np.ndarray, g: np.ndarray, damping: float) -> np.ndarray:
    r""":math:`(J^\top J + \lambda I)^{-1}J^\top g` from the QR of :math:`[J; \sqrt\lambda I]`.

    For ``damping == 0`` this is the Gauss-Newton direction (which needs
    :math:`J` of full column rank).
    """
    n, p = J.shape
    stacked = np.vstack([J, np.sqrt(damping) * np.eye(p)])
    Q, R = scipy.linalg.qr(stacked, mode="economic", check_finite=False)
    return scipy.linalg.solve_triangular(R, Q[:n].T @ g, check_finite=False)


@dataclass(frozen=True)
class KernelFactorization:
    r"""The eigendecomposition :math:`K = U\Lambda U^\top` of the kernel of an ``(n, p)`` Jacobian.

    Applies the kernel form :math:`J^\top(K + \lambda I)^{-1} g` with only
    ``(n, n)`` and ``(n, p)`` arrays, never a ``(p, p)`` one.
    """

    U: np.ndarray  # (n, n) orthonormal eigenvectors
    kernel_eigenvalues: np.ndarray  # (n,), decreasing, >= 0
    J: np.ndarray | None = None  # (n, p), for the "eigh" form
    Vt: np.ndarray | None = None  # (n, p), for the "svd" form

    @property
    def lambda_min(self) -> float:
        r""":math:`\lambda_{min}(K)`."""
        return float(self.kernel_eigenvalues[-1])

    def _coefficients(self, g: np.ndarray, damping: float) -> np.ndarray:
        denominator = self.kernel_eigenvalues + damping
        # With damping 0 and a zero eigenvalue, use the pseudo-inverse.
        return np.divide(
            self.U.T @ g,
            denominator,
            out=np.zeros_like(denominator),
            where=denominator > 0,
        )

    def direction(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`J^\top (K + \lambda I)^{-1} g = J^\top U(\Lambda+\lambda)^{-1}U^\top g`."""
        coefficients = self._coefficients(g, damping)
        if self.Vt is not None:
            return self.Vt.T @ (np.sqrt(self.kernel_eigenvalues) * coefficients)
        return self.J.T @ (self.U @ coefficients)

    def output_velocity(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`K (K + \lambda I)^{-1} g = U \Lambda(\Lambda+\lambda)^{-1}U^\top g`."""
        return self.U @ (self.kernel_eigenvalues * self._coefficients(g, damping))


KERNEL_SOLVERS = ("eigh", "svd")


def kernel_factorization(
    J: np.ndarray, *, kernel: np.ndarray | None = None, solver: str = "eigh"
) -> KernelFactorization:
    r"""The factorization behind the kernel form, for an ``(n, p)`` Jacobian.

    ``"eigh"`` diagonalizes :math:`K` (``kernel`` if given, e.g. the closed
    form of a two-layer network, else :math:`JJ^\top`): fast, with the
    eigenvalues resolved down to about ``eps * lambda_max(K)``. ``"svd"``
    takes the thin SVD of :math:`J`, which resolves :math:`\lambda_{min}(K) =
    \sigma_{min}^2` to relative accuracy ``eps * cond(J)`` at a few times the
    cost.
    """
    if solver == "svd":
        U, s, Vt = scipy.linalg.svd(
            J, full_matrices=False, check_finite=False, lapack_driver="gesdd"
        )
        return KernelFactorization(U, s**2, Vt=Vt)
    if solver != "eigh":
        raise ValueError(
            f"`kernel_solver` must be one of {KERNEL_SOLVERS}, got {solver!r}"
        )
    K = J @ J.T if kernel is None else kernel
    eigenvalues, U = scipy.linalg.eigh(K, check_finite=False)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.maximum(eigenvalues[order], 0.0)
    return KernelFactorization(U[:, order], eigenvalues, J=J)
