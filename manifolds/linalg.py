r"""The one linear-algebra core: every factorization of a Jacobian lives here.

No other module of ``manifolds`` or ``riemgn`` calls a QR, SVD, least-squares
or Cholesky routine itself. Faster factorizations and a matrix-free backend
plug in behind :func:`factorize` without touching the callers.

The factorized Jacobian
-----------------------
For :math:`J \in \mathbb{R}^{n \times p}` with :math:`p \le n` (an immersion
has full column rank), :class:`JacobianFactorization` holds the thin
Householder QR :math:`J = QR`. Everything the geometry and the dynamics need
follows without :math:`J^\top J`, whose condition number is
:math:`\operatorname{cond}(J)^2`:

.. math::

    J^+ g = R^{-1} Q^\top g, \qquad
    (J^+)^\top v = Q R^{-\top} v, \qquad
    P w = Q (Q^\top w),

and :math:`R` has the singular values of :math:`J`. The damped solve
:math:`(J^\top J + \lambda I)^{-1} J^\top g` is the least-squares solution of
:math:`\min_\eta \|[R; \sqrt\lambda I]\eta - [Q^\top g; 0]\|`, by a second QR
of the small stacked matrix (Moré, *The Levenberg-Marquardt algorithm*, 1978).

The rank test
-------------
One test, everywhere: :math:`\operatorname{rank} J = \#\{i : \sigma_i >
\tau\}` with :math:`\tau = \mathtt{rank\_rtol} \cdot \sigma_{max}`, the
singular values taken from :math:`R`. The default tolerance is
:func:`default_rank_rtol`, :math:`\max(n, p)\,\epsilon`, as in
``numpy.linalg.matrix_rank``. The flows take a larger one of their own
(they stop *before* :math:`J` is numerically singular); they pass it here.

The kernel form
---------------
With more parameters than outputs (:math:`p > n`), Levenberg-Marquardt works
with the kernel :math:`K = JJ^\top`:
:math:`(J^\top J + \lambda I)^{-1} J^\top g = J^\top (K + \lambda I)^{-1} g`.
:class:`KernelFactorization` applies it through the eigendecomposition
:math:`K = U\Lambda U^\top` (``"eigh"``: forms :math:`K`, so it resolves
eigenvalues only down to about :math:`\epsilon\,\lambda_{max}(K)`) or the
thin SVD :math:`J = U\Sigma V^\top` (``"svd"``: resolves
:math:`\sigma_{min}(J)` to relative accuracy
:math:`\epsilon \operatorname{cond}(J)`). Only :math:`n \times n` and
:math:`n \times p` arrays are allocated, never :math:`p \times p`.

Dense helpers
-------------
:func:`svd`, :func:`singular_values`, :func:`orthonormal_basis` and
:func:`lstsq` wrap LAPACK for the small dense problems that are not a
Jacobian (a retraction's differential, a shooting sensitivity, a random
orthogonal basis) and for diagnostics that need singular vectors of
:math:`J` with LAPACK's sign convention.
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
    "JacobianFactorization",
    "KernelFactorization",
    "RankDeficiencyError",
    "RankInfo",
    "default_rank_rtol",
    "factorize",
    "gauss_newton_direction",
    "kernel_factorization",
    "lstsq",
    "orthonormal_basis",
    "singular_values",
    "stacked_lm_direction",
    "svd",
]

_EPS = float(np.finfo(np.float64).eps)

#: The Gauss-Newton solvers of :func:`gauss_newton_direction`.
GN_SOLVERS = ("qr", "lstsq", "normal_equations")

#: The factorizations of :func:`kernel_factorization`.
KERNEL_SOLVERS = ("eigh", "svd")


def default_rank_rtol(n: int, p: int) -> float:
    r"""The default relative rank tolerance, :math:`\max(n, p)\,\epsilon`.

    As in ``numpy.linalg.matrix_rank``: a singular value at or below this
    fraction of :math:`\sigma_{max}` is round-off of a zero one.

    Examples
    --------
    >>> from manifolds.linalg import default_rank_rtol
    >>> default_rank_rtol(100, 3) == 100 * 2.0**-52
    True
    """
    return max(n, p) * _EPS


@dataclass(frozen=True)
class RankInfo:
    """The numerical rank of a Jacobian.

    Attributes
    ----------
    rank : int
        The number of singular values above ``tolerance``.
    n_params : int
        The number of columns :math:`p` of :math:`J`.
    tolerance : float
        The absolute threshold, ``rank_rtol * sigma_max``.
    singular_values : ndarray, shape (min(n, p),)
        The singular values of :math:`J`, in decreasing order.
    cause : str
        For a rank-deficient :math:`J` from :func:`~manifolds.jacobian_rank`,
        what was measured: the smallest singular value against the
        tolerance, and the model's own account (an output map's optional
        ``describe_rank_loss``, such as the saturated neurons of
        :class:`riemgn.networks.TwoLayerNetwork`) or else the vanishing and
        parallel columns of :math:`J`. Empty at full rank.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> info = factorize(np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]])).rank_info()
    >>> info.rank, info.n_params, info.condition_number > 1e15
    (1, 2, True)
    """

    rank: int
    n_params: int
    tolerance: float
    singular_values: np.ndarray
    cause: str = ""

    @property
    def condition_number(self) -> float:
        r"""The condition number :math:`\sigma_{max}/\sigma_{min}` of :math:`J` (inf if singular)."""
        smallest = self.singular_values[-1]
        return math.inf if smallest == 0 else float(self.singular_values[0] / smallest)


class RankDeficiencyError(np.linalg.LinAlgError):
    """:math:`J` lost rank: its smallest singular value fell below the tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import RankDeficiencyError, factorize
    >>> try:
    ...     factorize(np.ones((3, 2))).check_rank()
    ... except RankDeficiencyError as error:
    ...     error.rank
    1
    """

    def __init__(self, rank: int, n_params: int, ratio: float, rank_rtol: float):
        self.rank = rank
        self.n_params = n_params
        self.ratio = ratio
        self.rank_rtol = rank_rtol
        super().__init__(
            f"J(theta) lost rank: sigma_min/sigma_max = {ratio:.3e} <= rank_rtol = "
            f"{rank_rtol:.3e} (numerical rank {rank} < n_params = {n_params})"
        )


class JacobianFactorization:
    r"""The thin QR factorization :math:`J = QR` of an ``(n, p)`` Jacobian, ``p <= n``.

    Create it with :func:`factorize`. The factors are computed once; the
    singular values (from :math:`R`) when first asked for.

    Parameters
    ----------
    J : ndarray, shape (n, p)
        A finite float64 matrix with ``p <= n``.
    rank_rtol : float, optional
        The relative rank tolerance; :func:`default_rank_rtol` by default.
    overwrite : bool, optional
        Let LAPACK overwrite ``J``.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> factorization = factorize(J)
    >>> factorization.pinv(np.array([1.0, 4.0, 5.0]))
    array([1., 2.])
    >>> factorization.project(np.array([1.0, 4.0, 5.0]))
    array([1., 4., 0.])
    >>> float(factorization.condition)
    2.0
    """

    def __init__(
        self, J: np.ndarray, *, rank_rtol: float | None = None, overwrite: bool = False
    ):
        n, p = J.shape
        if p > n:
            raise ValueError(
                f"a JacobianFactorization needs p <= n, got J of shape {J.shape}; "
                "use kernel_factorization for p > n"
            )
        self.shape = (n, p)
        self.rank_rtol = default_rank_rtol(n, p) if rank_rtol is None else rank_rtol
        self.Q, self.R = scipy.linalg.qr(
            J, mode="economic", overwrite_a=overwrite, check_finite=False
        )
        self._singular_values = None

    @property
    def nbytes(self) -> int:
        """The bytes held by the factors."""
        return self.Q.nbytes + self.R.nbytes

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of :math:`J`, decreasing, shape ``(p,)``."""
        if self._singular_values is None:
            self._singular_values = scipy.linalg.svdvals(self.R, check_finite=False)
        return self._singular_values

    @property
    def sigma_ratio(self) -> float:
        r""":math:`\sigma_{min}/\sigma_{max}` (0 for :math:`J = 0`, 1 for no column)."""
        s = self.singular_values
        if s.size == 0:
            return 1.0
        return 0.0 if s[0] == 0 else float(s[-1] / s[0])

    @property
    def condition(self) -> float:
        r"""The condition number :math:`\sigma_{max}/\sigma_{min}` (inf if singular)."""
        s = self.singular_values
        return math.inf if s[-1] == 0 else float(s[0] / s[-1])

    def rank_info(self) -> RankInfo:
        """The numerical rank by the core's one test (see the module docstring)."""
        s = self.singular_values
        tolerance = self.rank_rtol * s[0] if s.size else 0.0
        rank = int(np.sum(s > tolerance))
        return RankInfo(rank, self.shape[1], float(tolerance), s)

    def check_rank(self) -> None:
        """Raise :class:`RankDeficiencyError` unless :math:`J` has full column rank."""
        info = self.rank_info()
        if info.rank < self.shape[1]:
            raise RankDeficiencyError(
                info.rank, self.shape[1], self.sigma_ratio, self.rank_rtol
            )

    def reduce(self, g: np.ndarray) -> np.ndarray:
        r""":math:`Q^\top g`."""
        return self.Q.T @ g

    def pinv(self, g: np.ndarray) -> np.ndarray:
        r""":math:`J^+ g = R^{-1}Q^\top g` (``g`` may have columns)."""
        return scipy.linalg.solve_triangular(self.R, self.Q.T @ g, check_finite=False)

    def pinv_transpose(self, v: np.ndarray) -> np.ndarray:
        r""":math:`(J^+)^\top v = Q R^{-\top} v`."""
        return self.Q @ scipy.linalg.solve_triangular(
            self.R, v, trans="T", check_finite=False
        )

    def project(self, w: np.ndarray) -> np.ndarray:
        r"""The orthogonal projection :math:`QQ^\top w` onto the range of :math:`J`."""
        return self.Q @ (self.Q.T @ w)

    def damped_solve(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`(J^\top J + \lambda I)^{-1} J^\top g`, by QR of :math:`[R; \sqrt\lambda I]`.

        For ``damping == 0`` this is :meth:`pinv` (check the rank first).
        """
        if damping == 0.0:
            return self.pinv(g)
        return stacked_lm_direction(self.R, self.Q.T @ g, damping)

    def triangular_inverse(self, scale: float = 1.0) -> np.ndarray:
        r""":math:`(R/s)^{-1}` for a scale :math:`s` (which keeps it finite where :math:`R^{-1}` is not)."""
        p = self.shape[1]
        R = self.R if scale == 1.0 else self.R / scale
        return scipy.linalg.solve_triangular(R, np.eye(p), check_finite=False)

    def svd_of_r(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""The SVD :math:`R = U_R \Sigma V^\top`, so that :math:`J = (QU_R)\Sigma V^\top`."""
        return scipy.linalg.svd(self.R, check_finite=False, lapack_driver="gesdd")


def factorize(
    J: np.ndarray, *, rank_rtol: float | None = None, overwrite: bool = False
) -> JacobianFactorization:
    r"""Factorize an ``(n, p)`` Jacobian with ``p <= n``: the core's one entry point.

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The Jacobian, float64 and finite (not checked: validate at the
        public boundary).
    rank_rtol : float, optional
        The relative rank tolerance; :func:`default_rank_rtol` by default.
    overwrite : bool, optional
        Let LAPACK overwrite ``J`` (saves a copy of an ``(n, p)`` array).

    Returns
    -------
    JacobianFactorization

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> J = np.random.default_rng(0).normal(size=(5, 2))
    >>> g = np.arange(5.0)
    >>> bool(np.allclose(factorize(J).pinv(g), np.linalg.pinv(J) @ g))
    True
    """
    return JacobianFactorization(
        np.asarray(J, dtype=np.float64), rank_rtol=rank_rtol, overwrite=overwrite
    )


def gauss_newton_direction(
    J: np.ndarray,
    g: np.ndarray,
    *,
    solver: str = "qr",
    rank_rtol: float,
    return_sigma_ratio: bool = False,
):
    r"""The Gauss-Newton direction :math:`J^+ g` of an ``(n, p)`` Jacobian with ``p <= n``.

    ``"qr"`` uses :class:`JacobianFactorization`; ``"lstsq"`` LAPACK's
    SVD-based least squares; ``"normal_equations"`` the Cholesky solve of
    :math:`J^\top J \eta = J^\top g`, kept only to show its loss of accuracy
    (:math:`\operatorname{cond}(J^\top J) = \operatorname{cond}(J)^2`).
    With ``return_sigma_ratio``, also :math:`\sigma_{min}/\sigma_{max}`
    (NaN for ``"normal_equations"``, which does not compute it).

    Raises
    ------
    RankDeficiencyError
        If :math:`\sigma_{min}(J) \le` ``rank_rtol`` :math:`\sigma_{max}(J)`.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import gauss_newton_direction
    >>> J = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> gauss_newton_direction(J, np.array([2.0, 3.0, 7.0]), rank_rtol=1e-12)
    array([1., 3.])
    """
    if solver == "qr":
        factorization = JacobianFactorization(J, rank_rtol=rank_rtol)
        factorization.check_rank()
        eta = factorization.pinv(g)
        return (eta, factorization.sigma_ratio) if return_sigma_ratio else eta
    if solver == "lstsq":
        eta, _, rank, s = scipy.linalg.lstsq(J, g, cond=rank_rtol, check_finite=False)
        ratio = float(s[-1] / s[0])
        if rank < J.shape[1]:
            raise RankDeficiencyError(int(rank), J.shape[1], ratio, rank_rtol)
        return (eta, ratio) if return_sigma_ratio else eta
    if solver == "normal_equations":
        # scipy warns when J^T J is ill-conditioned; showing that is the
        # point of this variant, so silence it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            try:
                eta = scipy.linalg.solve(
                    J.T @ J, J.T @ g, assume_a="pos", check_finite=False
                )
            except np.linalg.LinAlgError as error:
                raise RankDeficiencyError(-1, J.shape[1], 0.0, rank_rtol) from error
        return (eta, math.nan) if return_sigma_ratio else eta
    raise ValueError(f"`solver` must be one of {GN_SOLVERS}, got {solver!r}")


def stacked_lm_direction(J: np.ndarray, g: np.ndarray, damping: float) -> np.ndarray:
    r""":math:`(J^\top J + \lambda I)^{-1}J^\top g` from the QR of :math:`[J; \sqrt\lambda I]`.

    For ``damping == 0`` this is the Gauss-Newton direction (which needs
    :math:`J` of full column rank).

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import stacked_lm_direction
    >>> stacked_lm_direction(np.eye(2), np.array([2.0, 4.0]), 1.0)
    array([1., 2.])
    """
    n, p = J.shape
    stacked = np.vstack([J, np.sqrt(damping) * np.eye(p)])
    Q, R = scipy.linalg.qr(stacked, mode="economic", check_finite=False)
    return scipy.linalg.solve_triangular(R, Q[:n].T @ g, check_finite=False)


@dataclass(frozen=True)
class KernelFactorization:
    r"""The eigendecomposition :math:`K = U\Lambda U^\top` of the kernel of an ``(n, p)`` Jacobian.

    Applies the kernel form :math:`J^\top(K + \lambda I)^{-1} g` with only
    ``(n, n)`` and ``(n, p)`` arrays, never a ``(p, p)`` one. Create it with
    :func:`kernel_factorization`.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import kernel_factorization
    >>> J = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> kernel_factorization(J).direction(np.array([2.0, 8.0]), 0.0)
    array([2., 4., 0.])
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


def kernel_factorization(
    J: np.ndarray, *, kernel: np.ndarray | None = None, solver: str = "eigh"
) -> KernelFactorization:
    r"""The factorization behind the kernel form, for an ``(n, p)`` Jacobian.

    ``"eigh"`` diagonalizes :math:`K` (``kernel`` if given, e.g. the closed
    form of a two-layer network, else :math:`JJ^\top`). ``"svd"`` takes the
    thin SVD of :math:`J`. See the module docstring for their accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import kernel_factorization
    >>> J = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> kernel_factorization(J, solver="svd").kernel_eigenvalues
    array([4., 1.])
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


def svd(A: np.ndarray, *, full_matrices: bool = False):
    """The SVD ``U, s, Vt`` of a dense matrix, LAPACK ``gesdd`` through numpy.

    The signs of the singular vectors are LAPACK's, so results that depend
    on them (a target placed along ``Vt[-1]``) are reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import svd
    >>> svd(np.diag([1.0, 3.0]))[1]
    array([3., 1.])
    """
    return np.linalg.svd(A, full_matrices=full_matrices)


def singular_values(A: np.ndarray) -> np.ndarray:
    """The singular values of a dense matrix, decreasing.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import singular_values
    >>> singular_values(np.diag([1.0, 3.0]))
    array([3., 1.])
    """
    return np.linalg.svd(A, compute_uv=False)


def orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the columns of a full-rank ``A``: its thin QR's ``Q``.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import orthonormal_basis
    >>> Q = orthonormal_basis(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(Q.T @ Q, np.eye(2)))
    True
    """
    return np.linalg.qr(A)[0]


def lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The minimum-norm least-squares solution of a small dense system.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import lstsq
    >>> lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    array([2.])
    """
    return np.linalg.lstsq(A, b, rcond=None)[0]
