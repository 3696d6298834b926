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
:func:`singular_value_decomposition`, :func:`singular_values`,
:func:`orthonormal_basis` and :func:`least_squares_solution` wrap LAPACK for
the small dense problems that are not a Jacobian (a retraction's
differential, a shooting sensitivity, a random orthogonal basis) and for
diagnostics that need singular vectors of :math:`J` with LAPACK's sign
convention.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from manifolds.validation import as_finite_array, check_rank_rtol

__all__ = [
    "GN_SOLVERS",
    "KERNEL_SOLVERS",
    "JacobianFactorization",
    "KernelFactorization",
    "RankDeficiencyError",
    "RankInfo",
    "SquareSystem",
    "default_rank_rtol",
    "factorize",
    "gauss_newton_direction",
    "kernel_factorization",
    "least_squares_solution",
    "orthonormal_basis",
    "rank_info",
    "singular_values",
    "singular_value_decomposition",
    "stacked_lm_direction",
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

    Parameters
    ----------
    n, p : int
        The shape of :math:`J`.

    Returns
    -------
    float

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
    r""":math:`J` lost rank: its smallest singular value fell below the tolerance.

    Parameters
    ----------
    rank : int
        The numerical rank (-1 when the solver did not measure it).
    n_params : int
        The number of columns :math:`p` of :math:`J`.
    ratio : float
        :math:`\sigma_{min}/\sigma_{max}`.
    rank_rtol : float
        The relative tolerance it fell below.

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


def _rank_test(s: np.ndarray, n_params: int, rank_rtol: float) -> RankInfo:
    """The one rank test: the singular values ``s`` above ``rank_rtol * s[0]``."""
    tolerance = rank_rtol * s[0] if s.size else 0.0
    rank = int(np.sum(s > tolerance))
    return RankInfo(rank, n_params, float(tolerance), s)


def rank_info(J: np.ndarray, *, rank_rtol: float | None = None) -> RankInfo:
    r"""The numerical rank of any ``(n, p)`` matrix by the core's one test.

    The singular values come from the triangular factor of :math:`J = QR`
    (``Q`` is not formed), as in :meth:`JacobianFactorization.rank_info`;
    unlike it, :math:`p > n` is allowed (then there are ``n`` singular
    values and the rank is at most ``n``).

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The matrix, finite.
    rank_rtol : float, optional
        The relative rank tolerance; :func:`default_rank_rtol` by default.

    Returns
    -------
    RankInfo

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import rank_info
    >>> info = rank_info(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]))
    >>> info.rank, info.n_params, info.singular_values.shape
    (1, 3, (2,))
    """
    J = as_finite_array("J", J, ndim=2)
    n, p = J.shape
    rank_rtol = default_rank_rtol(n, p) if rank_rtol is None else rank_rtol
    rank_rtol = check_rank_rtol(rank_rtol)
    R = scipy.linalg.qr(J, mode="r", check_finite=False)[0]
    s = scipy.linalg.svdvals(R[: min(n, p)], check_finite=False)
    return _rank_test(s, p, rank_rtol)


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

    Raises
    ------
    ValueError
        If ``p > n`` (use :func:`kernel_factorization`).

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
        r"""The numerical rank by the core's one test (see the module docstring).

        Returns
        -------
        RankInfo

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.rank_info().rank
        2
        """
        return _rank_test(self.singular_values, self.shape[1], self.rank_rtol)

    def check_rank(self) -> None:
        r"""Raise :class:`RankDeficiencyError` unless :math:`J` has full column rank.

        Raises
        ------
        RankDeficiencyError
            If a singular value is at or below ``rank_rtol`` :math:`\sigma_{max}`.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.check_rank()  # full rank: nothing happens
        """
        info = self.rank_info()
        if info.rank < self.shape[1]:
            raise RankDeficiencyError(
                info.rank, self.shape[1], self.sigma_ratio, self.rank_rtol
            )

    def reduce(self, g: np.ndarray) -> np.ndarray:
        r""":math:`Q^\top g`.

        Parameters
        ----------
        g : ndarray, shape (n,) or (n, k)
            A vector (or columns) of the output space.

        Returns
        -------
        ndarray, shape (p,) or (p, k)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> abs(factorization.reduce(np.array([1.0, 4.0, 5.0])))
        array([1., 4.])
        """
        return self.Q.T @ g

    def pinv(self, g: np.ndarray) -> np.ndarray:
        r""":math:`J^+ g = R^{-1}Q^\top g`, the least-squares solution of :math:`J\eta = g`.

        Parameters
        ----------
        g : ndarray, shape (n,) or (n, k)
            A vector (or columns) of the output space.

        Returns
        -------
        ndarray, shape (p,) or (p, k)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.pinv(np.array([1.0, 4.0, 5.0]))
        array([1., 2.])
        """
        return scipy.linalg.solve_triangular(self.R, self.Q.T @ g, check_finite=False)

    def pinv_transpose(self, v: np.ndarray) -> np.ndarray:
        r""":math:`(J^+)^\top v = Q R^{-\top} v`.

        Parameters
        ----------
        v : ndarray, shape (p,) or (p, k)
            A vector (or columns) of parameter space.

        Returns
        -------
        ndarray, shape (n,) or (n, k)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.pinv_transpose(np.array([1.0, 2.0]))
        array([1., 1., 0.])
        """
        return self.Q @ scipy.linalg.solve_triangular(
            self.R, v, trans="T", check_finite=False
        )

    def project(self, w: np.ndarray) -> np.ndarray:
        r"""The orthogonal projection :math:`QQ^\top w` onto the range of :math:`J`.

        Parameters
        ----------
        w : ndarray, shape (n,) or (n, k)
            A vector (or columns) of the output space.

        Returns
        -------
        ndarray, shape (n,) or (n, k)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.project(np.array([1.0, 4.0, 5.0]))
        array([1., 4., 0.])
        """
        return self.Q @ (self.Q.T @ w)

    def damped_solve(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`(J^\top J + \lambda I)^{-1} J^\top g`, by QR of :math:`[R; \sqrt\lambda I]`.

        For ``damping == 0`` this is :meth:`pinv` (check the rank first).

        Parameters
        ----------
        g : ndarray, shape (n,)
            A vector of the output space.
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (p,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.damped_solve(np.array([1.0, 4.0, 5.0]), 1.0)
        array([0.5, 1.6])
        """
        if damping == 0.0:
            return self.pinv(g)
        return stacked_lm_direction(self.R, self.Q.T @ g, damping)

    def triangular_inverse(self, scale: float = 1.0) -> np.ndarray:
        r""":math:`(R/s)^{-1}` for a scale :math:`s` (which keeps it finite where :math:`R^{-1}` is not).

        Parameters
        ----------
        scale : float, default 1.0
            The scale :math:`s`.

        Returns
        -------
        ndarray, shape (p, p)
            Upper triangular.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> abs(factorization.triangular_inverse(2.0))
        array([[2., 0.],
               [0., 1.]])
        """
        p = self.shape[1]
        R = self.R if scale == 1.0 else self.R / scale
        return scipy.linalg.solve_triangular(R, np.eye(p), check_finite=False)

    def svd_of_r(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""The SVD :math:`R = U_R \Sigma V^\top`, so that :math:`J = (QU_R)\Sigma V^\top`.

        Returns
        -------
        U_R : ndarray, shape (p, p)
        s : ndarray, shape (p,)
            The singular values of :math:`J`, decreasing.
        Vt : ndarray, shape (p, p)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.svd_of_r()[1]
        array([2., 1.])
        """
        return scipy.linalg.svd(self.R, check_finite=False, lapack_driver="gesdd")


def factorize(
    J: np.ndarray, *, rank_rtol: float | None = None, overwrite: bool = False
) -> JacobianFactorization:
    r"""Factorize an ``(n, p)`` Jacobian with ``p <= n``: the core's one entry point.

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The Jacobian, real and finite, with ``p <= n``.
    rank_rtol : float, optional
        The relative rank tolerance in :math:`(0, 1)`;
        :func:`default_rank_rtol` by default.
    overwrite : bool, optional
        Let LAPACK overwrite ``J`` (saves a copy of an ``(n, p)`` array).

    Returns
    -------
    JacobianFactorization

    Raises
    ------
    ValueError
        If ``J`` is not a finite real matrix with ``p <= n``, or
        ``rank_rtol`` is not in :math:`(0, 1)`.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> J = np.random.default_rng(0).normal(size=(5, 2))
    >>> g = np.arange(5.0)
    >>> bool(np.allclose(factorize(J).pinv(g), np.linalg.pinv(J) @ g))
    True
    """
    J = as_finite_array("J", J, ndim=2)
    if J.shape[1] > J.shape[0]:
        raise ValueError(
            f"`J` must have no more columns than rows (p <= n), got shape {J.shape}; "
            "use kernel_factorization for p > n"
        )
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    return JacobianFactorization(J, rank_rtol=rank_rtol, overwrite=overwrite)


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

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The Jacobian.
    g : ndarray, shape (n,)
        The vector to solve for.
    solver : {"qr", "lstsq", "normal_equations"}, default "qr"
        The method.
    rank_rtol : float
        The relative rank tolerance.
    return_sigma_ratio : bool, default False
        Also return :math:`\sigma_{min}/\sigma_{max}` (NaN for
        ``"normal_equations"``, which does not compute it).

    Returns
    -------
    eta : ndarray, shape (p,)
    sigma_ratio : float
        Only with ``return_sigma_ratio``.

    Raises
    ------
    RankDeficiencyError
        If :math:`\sigma_{min}(J) \le` ``rank_rtol`` :math:`\sigma_{max}(J)`.
    ValueError
        If ``solver`` is unknown.

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

    Parameters
    ----------
    J : ndarray, shape (m, p)
        The matrix (the :math:`R` factor of a Jacobian, or the Jacobian).
    g : ndarray, shape (m,)
        The right-hand side.
    damping : float
        :math:`\lambda \ge 0`.

    Returns
    -------
    ndarray, shape (p,)

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

    Attributes
    ----------
    U : ndarray, shape (n, n)
        Orthonormal eigenvectors of :math:`K`.
    kernel_eigenvalues : ndarray, shape (n,)
        The eigenvalues :math:`\Lambda`, decreasing, :math:`\ge 0`.
    J : ndarray, shape (n, p) or None
        The Jacobian, for the ``"eigh"`` form.
    Vt : ndarray, shape (n, p) or None
        The right singular vectors of :math:`J`, for the ``"svd"`` form.

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
        r""":math:`J^\top (K + \lambda I)^{-1} g = J^\top U(\Lambda+\lambda)^{-1}U^\top g`.

        With ``damping == 0`` and a zero eigenvalue, the pseudo-inverse.

        Parameters
        ----------
        g : ndarray, shape (n,)
            A vector of the output space.
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (p,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import kernel_factorization
        >>> factorization = kernel_factorization(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
        >>> factorization.direction(np.array([2.0, 8.0]), 0.0)
        array([2., 4., 0.])
        """
        coefficients = self._coefficients(g, damping)
        if self.Vt is not None:
            return self.Vt.T @ (np.sqrt(self.kernel_eigenvalues) * coefficients)
        return self.J.T @ (self.U @ coefficients)

    def output_velocity(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`K (K + \lambda I)^{-1} g = U \Lambda(\Lambda+\lambda)^{-1}U^\top g`.

        Parameters
        ----------
        g : ndarray, shape (n,)
            A vector of the output space.
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import kernel_factorization
        >>> factorization = kernel_factorization(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
        >>> factorization.output_velocity(np.array([2.0, 5.0]), 1.0)
        array([1., 4.])
        """
        return self.U @ (self.kernel_eigenvalues * self._coefficients(g, damping))


def kernel_factorization(
    J: np.ndarray, *, kernel: np.ndarray | None = None, solver: str = "eigh"
) -> KernelFactorization:
    r"""The factorization behind the kernel form, for an ``(n, p)`` Jacobian.

    ``"eigh"`` diagonalizes :math:`K` (``kernel`` if given, e.g. the closed
    form of a two-layer network, else :math:`JJ^\top`). ``"svd"`` takes the
    thin SVD of :math:`J`. See the module docstring for their accuracy.

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The Jacobian.
    kernel : ndarray, shape (n, n), optional
        :math:`K = JJ^\top`, if known in closed form (``"eigh"`` only).
    solver : {"eigh", "svd"}, default "eigh"
        The factorization.

    Returns
    -------
    KernelFactorization

    Raises
    ------
    ValueError
        If ``solver`` is unknown.

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


class SquareSystem:
    r"""The SVD :math:`A = U\Sigma V^\top` of a small square matrix, to solve :math:`Ax = b`.

    For a system that is not a Jacobian (the differential of a retraction),
    solved through its SVD because that also gives its numerical rank:
    check ``singular_values`` before :meth:`solve`.

    Parameters
    ----------
    A : ndarray, shape (k, k)
        The matrix, finite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import SquareSystem
    >>> system = SquareSystem(np.array([[2.0, 0.0], [0.0, 4.0]]))
    >>> system.singular_values
    array([4., 2.])
    """

    def __init__(self, A: np.ndarray):
        self.U, self.singular_values, self.Vt = scipy.linalg.svd(A, check_finite=False)

    def solve(self, b: np.ndarray) -> np.ndarray:
        r""":math:`A^{-1} b = V \Sigma^{-1} U^\top b`.

        Parameters
        ----------
        b : ndarray, shape (k,)
            The right-hand side.

        Returns
        -------
        ndarray, shape (k,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import SquareSystem
        >>> SquareSystem(np.array([[2.0, 0.0], [0.0, 4.0]])).solve(np.array([2.0, 2.0]))
        array([1. , 0.5])
        """
        return self.Vt.T @ ((self.U.T @ b) / self.singular_values)


def singular_value_decomposition(A: np.ndarray, *, full_matrices: bool = False):
    r"""The SVD ``U, s, Vt`` of a dense matrix, LAPACK ``gesdd`` through numpy.

    The signs of the singular vectors are LAPACK's, so results that depend
    on them (a target placed along ``Vt[-1]``) are reproducible.

    Parameters
    ----------
    A : ndarray, shape (m, k)
        The matrix.
    full_matrices : bool, default False
        Square ``U`` and ``Vt`` instead of the thin ones.

    Returns
    -------
    U : ndarray, shape (m, r)
    s : ndarray, shape (r,)
        Decreasing, :math:`r = \min(m, k)`.
    Vt : ndarray, shape (r, k)

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import singular_value_decomposition
    >>> singular_value_decomposition(np.diag([1.0, 3.0]))[1]
    array([3., 1.])
    """
    return np.linalg.svd(A, full_matrices=full_matrices)


def singular_values(A: np.ndarray) -> np.ndarray:
    r"""The singular values of a dense matrix, decreasing.

    Parameters
    ----------
    A : ndarray, shape (m, k)
        The matrix.

    Returns
    -------
    ndarray, shape (min(m, k),)

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import singular_values
    >>> singular_values(np.diag([1.0, 3.0]))
    array([3., 1.])
    """
    return np.linalg.svd(A, compute_uv=False)


def orthonormal_basis(A: np.ndarray, *, complete: bool = False) -> np.ndarray:
    r"""An orthonormal basis of the columns of a full-rank ``A``: its QR's ``Q``.

    Parameters
    ----------
    A : ndarray, shape (m, k)
        The matrix, ``k <= m``, of full column rank.
    complete : bool, default False
        Return the square ``Q`` of the complete QR, whose last ``m - k``
        columns are an orthonormal basis of the complement of the range.

    Returns
    -------
    ndarray, shape (m, k), or (m, m) if ``complete``

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import orthonormal_basis
    >>> Q = orthonormal_basis(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(Q.T @ Q, np.eye(2)))
    True
    """
    if complete:
        return scipy.linalg.qr(A, mode="full", check_finite=False)[0]
    return np.linalg.qr(A)[0]


def least_squares_solution(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""The minimum-norm least-squares solution of a small dense system.

    Parameters
    ----------
    A : ndarray, shape (m, k)
        The matrix.
    b : ndarray, shape (m,)
        The right-hand side.

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import least_squares_solution
    >>> least_squares_solution(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    array([2.])
    """
    return np.linalg.lstsq(A, b, rcond=None)[0]
