r"""The Levenberg-Marquardt subproblem: one factorized Jacobian, many trial dampings.

For :math:`p \le n` the Jacobian is factorized once by
:func:`manifolds.linalg.factorize`, :math:`J = QR`, and each trial damping
costs a QR of the small stacked :math:`[R; \sqrt\lambda I]`
(:meth:`~manifolds.linalg.JacobianFactorization.damped_solve`). For
:math:`p > n` the kernel form goes through the thin SVD of :math:`J`
(:func:`manifolds.linalg.kernel_factorization`). The trust region needs the
SVD :math:`J = U\Sigma V^\top` (from the SVD of :math:`R` when
:math:`p \le n`), with which :func:`_trust_region_damping` solves the secular
equation :math:`\|\delta(\lambda)\| = \Delta` (see the notes of
:mod:`riemgn.dynamics.solvers`).
"""

from __future__ import annotations

import math

import numpy as np

from manifolds.linalg import factorize, kernel_factorization

#: The relative accuracy of the secular equation's solution.
_SECULAR_RTOL = 1e-2


class _RankLoss(Exception):
    """A zero damping met a singular system."""


class _LMSubproblem:
    r"""The Jacobian at the current iterate, factorized once for all trial dampings.

    ``direction(lam)`` returns :math:`\eta = (J^\top J + \lambda I)^{-1}J^\top g`
    (the step is :math:`-\eta`).
    """

    def __init__(
        self, J: np.ndarray, gradient: np.ndarray, *, svd: bool, rank_rtol: float
    ):
        n, p = J.shape
        self.J = J
        self.matrix_free = not isinstance(J, np.ndarray)  # a JacobianOperator
        self.gradient = gradient
        self.rank_rtol = rank_rtol
        self.kernel_form = p > n
        self._singular_values = None
        self._svd = None  # (singular values, Vt, U^T g) for the trust region
        if self.kernel_form:
            # The SVD form resolves lambda_min(K) = sigma_min^2 to eps * cond(J);
            # diagonalizing K = J J^T would square cond(J).
            self._kernel = kernel_factorization(
                J, **({} if self.matrix_free else {"solver": "svd"})
            )
            self._singular_values = np.sqrt(self._kernel.kernel_eigenvalues)
            if svd:
                self._svd = (
                    self._singular_values,
                    self._kernel.Vt,
                    self._kernel.U.T @ gradient,
                )
        else:
            self._factorization = factorize(J, rank_rtol=rank_rtol)
            if svd:
                # J = (Q U_R) S Vt from the SVD of the small triangle R.
                U_R, s, Vt = self._factorization.svd_of_r()
                self._singular_values = s
                self._svd = (s, Vt, U_R.T @ self._factorization.reduce(gradient))

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of :math:`J`, decreasing, shape ``(min(n, p),)``."""
        if self._singular_values is None:
            self._singular_values = self._factorization.singular_values
        return self._singular_values

    @property
    def max_column_norm2(self) -> float:
        r""":math:`\max_j \|J_{:,j}\|^2 = \max \operatorname{diag}(J^\top J)`.

        Matrix-free, its upper bound :math:`\sigma_{max}^2` (estimated), which
        needs no column of :math:`J`.
        """
        if self.matrix_free:
            return float(self.singular_values[0] ** 2)
        return float(np.max(np.einsum("ij,ij->j", self.J, self.J)))

    @property
    def svd_factors(self):
        r"""``(s, Vt, c)``: :math:`J = U\Sigma V^\top` and :math:`c = U^\top g`, or None."""
        return self._svd

    def direction(self, lam: float) -> np.ndarray:
        if self._svd is not None:
            s, Vt, c = self._svd
            return Vt.T @ _svd_coefficients(s, c, lam)
        if lam == 0.0:
            self._check_rank()
        if self.kernel_form:
            return self._kernel.direction(self.gradient, lam)
        if lam == 0.0:
            self._factorization.check_rank()
        return self._factorization.damped_solve(self.gradient, lam)

    def _check_rank(self) -> None:
        s = self.singular_values
        ratio = 0.0 if s[0] == 0 else float(s[-1] / s[0])
        if not ratio > self.rank_rtol:
            rank = int(np.sum(s > self.rank_rtol * s[0]))
            n, p = self.J.shape
            raise _RankLoss(
                f"a zero damping needs J of full rank min(n, p) = {min(n, p)}, but "
                f"sigma_min/sigma_max = {ratio:.3e} <= rank_rtol = {self.rank_rtol:.3e} "
                f"(numerical rank {rank})"
            )


def _svd_coefficients(s: np.ndarray, c: np.ndarray, lam: float) -> np.ndarray:
    r""":math:`\sigma_i c_i/(\sigma_i^2 + \lambda)`, with 0 where the denominator is 0."""
    denominator = s**2 + lam
    return np.divide(s * c, denominator, out=np.zeros_like(s), where=denominator > 0)


def _trust_region_damping(
    s: np.ndarray, c: np.ndarray, radius: float, start: float = 0.0
) -> float:
    r"""The damping :math:`\lambda \ge 0` with :math:`\|\delta(\lambda)\| = \Delta` (to 0.1 %).

    Returns 0 when the Gauss-Newton step (the minimum-norm one if :math:`J`
    is rank-deficient) already lies in the trust region.
    """
    coefficients = _svd_coefficients(s, c, 0.0)
    if float(np.linalg.norm(coefficients)) <= radius:
        return 0.0
    lower, upper = 0.0, float(np.linalg.norm(s * c)) / radius
    lam = start if lower < start < upper else 0.0
    for _ in range(60):
        denominator = s**2 + lam
        w = np.divide(s * c, denominator, out=np.zeros_like(s), where=denominator > 0)
        q = float(np.linalg.norm(w))
        if abs(q - radius) <= _SECULAR_RTOL * radius:
            return lam
        if q > radius:
            lower = lam
        else:
            upper = lam
        dq = (
            -float(
                np.sum(
                    np.divide(
                        w**2, denominator, out=np.zeros_like(s), where=denominator > 0
                    )
                )
            )
            / q
        )
        # Newton on 1/q(lam) = 1/radius: lam += -(q / q') (q / radius - 1).
        new = lam - (q / dq) * (q / radius - 1.0) if dq < 0 else upper
        if not lower < new < upper:
            new = max(math.sqrt(lower * upper), 1e-3 * upper)
        lam = new
    return lam
