r"""The one linear-algebra core: every factorization of a Jacobian lives here.

No other module of ``manifolds`` or ``riemgn`` calls a QR, SVD, least-squares
or Cholesky routine itself. Faster factorizations and a matrix-free backend
plug in behind :func:`factorize` without touching the callers.

The factorized Jacobian
-----------------------
For :math:`J \in \mathbb{R}^{n \times p}` with :math:`p \le n` (an immersion
has full column rank), :class:`JacobianFactorization` holds a factorization
:math:`J = QR`. Everything the geometry and the dynamics need follows
without ever solving with an unrefined :math:`J^\top J`, whose condition
number is :math:`\operatorname{cond}(J)^2`:

.. math::

    J^+ g = R^{-1} Q^\top g, \qquad
    (J^+)^\top v = Q R^{-\top} v, \qquad
    P w = Q (Q^\top w),

and :math:`R` has the singular values of :math:`J`. The damped solve
:math:`(J^\top J + \lambda I)^{-1} J^\top g` is the least-squares solution of
:math:`\min_\eta \|[R; \sqrt\lambda I]\eta - [Q^\top g; 0]\|`, by a second QR
of the small stacked matrix (Moré, *The Levenberg-Marquardt algorithm*, 1978).

Which factorization
-------------------
:func:`factorize` takes ``method`` from :data:`FACTORIZATION_METHODS`:

- ``"householder"``, the reference: LAPACK Householder QR with :math:`Q`
  formed (``scipy.linalg.qr(mode="economic")``). Backward stable: errors of
  order :math:`\epsilon\operatorname{cond}(J)` (plus
  :math:`\epsilon\operatorname{cond}(J)^2` times the relative residual for
  :math:`J^+g`), at about a third of the BLAS-3 rate, twice the flops.
- ``"householder_r"``: the same QR (the same :math:`R`, bit for bit) without
  forming :math:`Q`; :math:`Q^\top g` and :math:`Qv` apply the reflectors
  (LAPACK ``ormqr``). As accurate as the reference at any condition number.
- ``"semi_normal"``: corrected semi-normal equations (CSNE, Björck, *Stability
  analysis of the method of seminormal equations for linear least squares
  problems*, Linear Algebra Appl. 88/89, 1987). :math:`R` is the Cholesky
  factor of :math:`J^\top J` (one BLAS-3 ``syrk`` and a ``potrf``, the cost
  bound of a point), :math:`J` is kept, and
  :math:`J^+g` solves :math:`R^\top R x = J^\top g`, then corrects it once or
  twice by :math:`x \mathrel{+}= (R^\top R)^{-1}J^\top(g - Jx)`. Each
  correction gains a factor of about :math:`\epsilon\operatorname{cond}(J)^2`,
  so the result reaches the reference's accuracy while
  :math:`\operatorname{cond}(J) \lesssim 10^6` (measured, see the tests:
  within a factor 10 of Householder QR at :math:`10^6`).

``"auto"`` (the default) keeps ``"householder"`` for small problems
(:math:`p < 64` or :math:`np^2 < 2^{18}`, where the fast path is not faster;
so ``riemgn verify``, at :math:`p \le 20`, is unchanged bit for bit). Above,
it takes ``"semi_normal"`` when the Cholesky factorization succeeds, LAPACK
``trcon``'s estimate of :math:`\kappa_1(R)` is at most :math:`10^6` and the
proved bound below is too; otherwise ``"householder_r"``. So the automatic
choice is never less accurate than the reference by more than a small
factor (about 10, at :math:`\operatorname{cond}(J) = 10^6`), at any
condition number. The result's ``method`` records the choice.

An explicit :math:`Q` (:attr:`JacobianFactorization.Q`) is formed only when
a caller asks for it: ``orgqr`` from the reflectors, or CholeskyQR2 from the
Cholesky factor (Fukaya, Kannan, Nakatsukasa, Yamamoto and Yanagisawa,
*Shifted Cholesky QR for computing the QR factorization of ill-conditioned
matrices*, SIAM J. Sci. Comput. 42, 2020: with :math:`\operatorname{cond}(J)
\le 10^6 \ll \epsilon^{-1/2}` the unshifted first step already succeeds, and
two more Cholesky QR steps give :math:`Q` orthonormal to working accuracy).

The rank test
-------------
One test, everywhere: :math:`\operatorname{rank} J = \#\{i : \sigma_i >
\tau\}` with :math:`\tau = \mathtt{rank\_rtol} \cdot \sigma_{max}`, the
singular values taken from :math:`R`. The default tolerance is
:func:`default_rank_rtol`, :math:`\max(n, p)\,\epsilon`, as in
``numpy.linalg.matrix_rank``. The flows take a larger one of their own
(they stop *before* :math:`J` is numerically singular); they pass it here.

A certificate decides first, without an SVD: with :math:`X` the computed
:math:`R^{-1}` (LAPACK ``trtri``, :math:`p^3/3` flops) and
:math:`\|A\|_2 \le \min(\|A\|_F, \sqrt{\|A\|_1\|A\|_\infty})`, the product
:math:`K` of these bounds for :math:`R` and :math:`X` bounds
:math:`\kappa_2(R)` from above (by at most a factor :math:`p`). If
:math:`K \le 1/(4\,\mathtt{rank\_rtol})` (and :math:`K \cdot 100 p\epsilon
\le 1/4`, an allowance for rounding in :math:`X` and in the SVD), the exact
test is proved to find full rank (the argument is in
comments of the private ``_certified_full_rank``); otherwise the exact
test runs on ``scipy.linalg.svdvals(R)``. The decision is the exact test's
either way. For ``"semi_normal"`` the exact test and
:attr:`~JacobianFactorization.singular_values` use the backward-stable
:math:`R` of CholeskyQR2, which agrees with Householder's to rounding.
:attr:`~JacobianFactorization.condition_estimate` is LAPACK ``trcon``'s
:math:`O(p^2)` estimate, for diagnostics.

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
import scipy.sparse.linalg

from manifolds.exceptions import KrylovConvergenceError  # noqa: F401 - re-exported
from manifolds.validation import as_finite_array, check_rank_rtol

__all__ = [
    "DENSE_BUDGET",
    "FACTORIZATION_METHODS",
    "GN_SOLVERS",
    "KERNEL_SOLVERS",
    "KRYLOV_TOL",
    "JacobianFactorization",
    "JacobianOperator",  # noqa: F822 - lazy, see __getattr__
    "KernelFactorization",
    "KrylovConvergenceError",
    "KrylovFactorization",  # noqa: F822 - lazy, see __getattr__
    "KrylovInfo",  # noqa: F822 - lazy, see __getattr__
    "KrylovKernelFactorization",  # noqa: F822 - lazy, see __getattr__
    "RankDeficiencyError",
    "RankInfo",
    "ReferenceKernel",  # noqa: F822 - lazy, see __getattr__
    "ReferencedKernelFactorization",  # noqa: F822 - lazy, see __getattr__
    "SOLVERS",
    "SquareSystem",
    "default_rank_rtol",
    "factorize",
    "gauss_newton_direction",
    "gram_factor",
    "kernel_eigen",  # noqa: F822 - lazy, see __getattr__
    "kernel_factorization",
    "least_squares_solution",
    "orthonormal_basis",
    "rank_info",
    "resolve_solver",
    "singular_values",
    "singular_value_decomposition",
    "smallest_kernel_eigenpair",  # noqa: F822 - lazy, see __getattr__
    "stacked_lm_direction",
]

_EPS = float(np.finfo(np.float64).eps)

#: The Gauss-Newton solvers of :func:`gauss_newton_direction`.
GN_SOLVERS = ("qr", "lstsq", "normal_equations")

#: The methods of :func:`factorize` (see the module docstring).
FACTORIZATION_METHODS = ("auto", "householder", "householder_r", "semi_normal")

#: The factorizations of :func:`kernel_factorization`.
KERNEL_SOLVERS = ("eigh", "svd")

#: The linear solvers (dense factorizations of J, Krylov with products, or by size).
SOLVERS = ("auto", "dense", "krylov")

#: Bytes of a dense float64 Jacobian (8 n p) up to which ``"auto"`` stays dense.
DENSE_BUDGET = 2**30

#: The default relative tolerance of a Krylov solve (see ``manifolds._krylov``).
KRYLOV_TOL = 1e-12


# The matrix-free backend and the reference kernel, imported on first use
# (they import this module): the names of their ``__all__``.
def __getattr__(name: str):
    from manifolds import _krylov, _reference

    for module in (_krylov, _reference):
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_solver(solver: str, n: int, p: int, *, budget: int | None = None) -> str:
    r"""``"dense"`` or ``"krylov"``: ``solver``, or for ``"auto"`` the choice by memory.

    ``"auto"`` stays dense while the float64 Jacobian, :math:`8np` bytes,
    fits ``budget`` (:data:`DENSE_BUDGET` by default).

    Parameters
    ----------
    solver : {"auto", "dense", "krylov"}
        One of :data:`SOLVERS`.
    n, p : int
        The shape of :math:`J`.
    budget : int, optional
        The bytes allowed for a dense :math:`J`.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``solver`` is not in :data:`SOLVERS`.

    Examples
    --------
    >>> from manifolds.linalg import resolve_solver
    >>> resolve_solver("auto", 1000, 100), resolve_solver("auto", 10**5, 10**4)
    ('dense', 'krylov')
    """
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"`solver` must be one of {SOLVERS}, got {solver!r}")
    if solver != "auto":
        return solver
    budget = DENSE_BUDGET if budget is None else budget
    return "dense" if 8 * n * p <= budget else "krylov"


def gram_factor(G: np.ndarray) -> tuple[np.ndarray, float]:
    r"""The upper :math:`R` with :math:`R^\top R = G + \delta I`, in place: for preconditioners only.

    The Cholesky factor of a symmetric positive semi-definite ``G`` (only its
    upper triangle is read; Fortran-ordered ``G`` is factorized in place),
    with :math:`\delta = 0` when it succeeds; otherwise :math:`\delta` grows
    from :math:`p\epsilon\max_i G_{ii}` tenfold until it does. A Gram
    matrix squares the condition number: never solve with it for a result,
    only precondition an iteration that refines on the true operator.

    Parameters
    ----------
    G : ndarray, shape (p, p)
        Symmetric positive semi-definite, finite.

    Returns
    -------
    R : ndarray, shape (p, p)
        Upper triangular (``G``'s memory when ``G`` is Fortran-ordered).
    shift : float
        :math:`\delta`.

    Raises
    ------
    numpy.linalg.LinAlgError
        If no shift up to :math:`10^{39}` times the first makes it definite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import gram_factor
    >>> R, shift = gram_factor(np.array([[4.0, 2.0], [2.0, 2.0]], order="F"))
    >>> R, shift
    (array([[2., 1.],
           [0., 1.]]), 0.0)
    >>> gram_factor(np.ones((2, 2), order="F"))[1] > 0
    True
    """
    p = G.shape[0]
    G = np.asfortranarray(G)
    for j in range(p):  # mirror the upper triangle: the lower one is the backup
        G[j + 1 :, j] = G[j, j + 1 :]
    diagonal = G.diagonal().copy()
    shift, step = 0.0, max(float(np.max(diagonal, initial=0.0)), 1e-300) * p * _EPS
    for _ in range(40):
        R, info = scipy.linalg.lapack.dpotrf(G, lower=0, clean=0, overwrite_a=1)
        for j in range(p):  # zero the lower triangle, or restore G's upper from it
            R[j + 1 :, j] = 0.0 if info == 0 else R[j + 1 :, j]
            G[:j, j] = G[:j, j] if info == 0 else G[j, :j]
        if info == 0:
            return R, shift
        shift = step if shift == 0 else 10 * shift
        G[np.diag_indices(p)] = diagonal + shift
    raise np.linalg.LinAlgError("`G` is not positive semi-definite: no shift helps")


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


class _CertifiedRankInfo(RankInfo):
    """A full rank proved without an SVD; ``singular_values`` and ``tolerance`` computed on first use."""

    def __init__(self, rank, n_params, tolerance, singular_values, cause=""):
        # ``tolerance`` may be a relative tolerance paired with a callable
        # ``singular_values``; both are then evaluated on first access.
        for name, value in (("rank", rank), ("n_params", n_params), ("cause", cause)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_tolerance", tolerance)
        object.__setattr__(self, "_singular_values", singular_values)

    @property
    def singular_values(self) -> np.ndarray:
        if callable(self._singular_values):
            object.__setattr__(self, "_singular_values", self._singular_values())
            s = self._singular_values
            object.__setattr__(self, "_tolerance", float(self._tolerance * s[0]))
        return self._singular_values

    @property
    def tolerance(self) -> float:
        self.singular_values  # noqa: B018 - resolves a lazy tolerance
        return self._tolerance


def rank_info(J: np.ndarray, *, rank_rtol: float | None = None) -> RankInfo:
    r"""The numerical rank of any ``(n, p)`` matrix by the core's one test.

    The singular values come from the triangular factor of :math:`J = QR`
    (``Q`` is not formed), as in :meth:`JacobianFactorization.rank_info`;
    unlike it, :math:`p > n` is allowed (then there are ``n`` singular
    values and the rank is at most ``n``). For :math:`p \le n` at the sizes
    where :func:`factorize` leaves Householder QR (see the module
    docstring), the rank is decided as by :meth:`JacobianFactorization.rank_info`:
    a full rank proved by the certificate needs no SVD, and the result's
    ``singular_values`` and ``tolerance`` are then computed on first access.

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
    if p <= n and not _small(n, p):
        return JacobianFactorization(J, rank_rtol=rank_rtol).rank_info()
    R = scipy.linalg.qr(J, mode="r", check_finite=False)[0]
    s = scipy.linalg.svdvals(R[: min(n, p)], check_finite=False)
    return _rank_test(s, p, rank_rtol)


# ----------------------------------------------------------------------
# The automatic choice (see the module docstring, "Which factorization").
#
# Sizes: below these, "auto" keeps the reference Householder QR. Measured on
# the 2-core development machine (OpenBLAS, 1 thread, min of 40 interleaved
# repeats of factorize + check_rank + pinv + project, n = 4p; the machine was
# shared, so only the trend counts): the fast path is slower at p = 16
# (x0.76), p = 32 (x0.91) and p = 40 (x0.98), faster from p = 48 (x1.45) and
# p = 64 (x4). So it starts at p = 64 and at least 2^18 multiply-adds n p^2.
# verify runs at p <= 20, n <= 442: always Householder, its numbers unchanged.
_AUTO_MIN_COLUMNS = 64
_AUTO_MIN_WORK = 2**18
# CSNE's range. Measured against an 80-bit reference (n = 200, p = 64,
# relative residual min(1e-3, 1/cond); see the report of issue 15): with two
# corrections CSNE is as accurate as Householder QR (within a factor 2, often
# better) for pinv, pinv_transpose, project and damped_solve up to cond(J) =
# 1e6; at 1e7 its pinv is 18x less accurate, and at 1e8 it fails (1e-3).
# So "auto" takes it when cond(R) <= 1e6: proved by the bound K >= cond(R)
# (_condition_bound, at most p cond(R)) when K <= 1e6; for 1e6 < K <= 1e7 by a
# Lanczos value of cond_2(R) (to 1e-6); never when K > 1e7, so a Lanczos
# failure costs at most the factor at 1e7. One correction when K <= 1e4.
_CSNE_MAX_CONDITION = 1e6
_CSNE_MAX_BOUND = 1e7
_CSNE_ONE_STEP_CONDITION = 1e4
# The certificate's allowance for LAPACK's rounding-error constants: the
# computed singular values of R are within c p eps sigma_max of the exact
# ones, and the computed R^{-1} within c p eps kappa |R^{-1}|, with c <= 100.
_ROUNDING_CONSTANT = 100.0


def _small(n: int, p: int) -> bool:
    """Whether "auto" keeps Householder QR for an ``(n, p)`` Jacobian."""
    return p < _AUTO_MIN_COLUMNS or n * p * p < _AUTO_MIN_WORK


def _two_norm_bound(A: np.ndarray) -> float:
    r"""An upper bound of :math:`\|A\|_2`: :math:`\min(\|A\|_F, \sqrt{\|A\|_1\|A\|_\infty})`."""
    absolute = np.abs(A)
    one = float(np.max(np.sum(absolute, axis=0)))
    infinity = float(np.max(np.sum(absolute, axis=1)))
    return min(float(np.linalg.norm(A)), math.sqrt(one * infinity))


def _lanczos_norm(A: np.ndarray, tol: float) -> float:
    r""":math:`\|A\|_2 = \sqrt{\lambda_{max}(A^\top A)}` by Lanczos (ARPACK, a fixed start), inf if it fails."""
    p = A.shape[1]
    if p < 3:
        return float(scipy.linalg.svdvals(A, check_finite=False)[0]) if p else 0.0
    gram = scipy.sparse.linalg.LinearOperator(
        (p, p), matvec=lambda v: A.T @ (A @ v), dtype=np.float64
    )
    start = np.random.default_rng(0).standard_normal(p)
    try:
        largest = scipy.sparse.linalg.eigsh(
            gram, k=1, which="LA", tol=tol, v0=start, return_eigenvectors=False
        )[0]
    except scipy.sparse.linalg.ArpackNoConvergence:
        return math.inf
    return math.sqrt(max(float(largest), 0.0))


def _upper_triangular_solve(R: np.ndarray, b: np.ndarray, trans: str = "N"):
    return scipy.linalg.solve_triangular(R, b, trans=trans, check_finite=False)


def _gram_solve(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`(R^\top R)^{-1} b` by two triangular solves."""
    return _upper_triangular_solve(R, _upper_triangular_solve(R, b, "T"))


def _cholesky(G: np.ndarray) -> np.ndarray | None:
    """The upper Cholesky factor of the symmetric ``G`` (overwritten), or None if not positive definite."""
    # G.T is G, and Fortran-ordered when G is C-ordered: LAPACK needs no copy.
    R, info = scipy.linalg.lapack.dpotrf(G.T, lower=0, clean=1, overwrite_a=1)
    return R if info == 0 else None


class JacobianFactorization:
    r"""A factorization :math:`J = QR` of an ``(n, p)`` Jacobian, ``p <= n``.

    Create it with :func:`factorize`, which picks the method (see the module
    docstring). ``method`` records it: ``"householder"`` holds explicit
    :math:`Q` and :math:`R`; ``"householder_r"`` the Householder reflectors
    and :math:`R`, with :math:`Q` applied implicitly; ``"semi_normal"`` the
    Cholesky factor :math:`R` of :math:`J^\top J` and :math:`J` itself (by
    reference: do not modify it afterwards), solving by corrected
    semi-normal equations. :attr:`Q` is formed on first use (for
    ``"semi_normal"`` by CholeskyQR2, which also replaces :attr:`R` by the
    backward-stable factor :math:`R_2R`; the operations then use :math:`Q`).
    The singular values (from :math:`R`) are computed when first asked for.

    Parameters
    ----------
    J : ndarray, shape (n, p)
        A finite float64 matrix with ``p <= n``.
    rank_rtol : float, optional
        The relative rank tolerance; :func:`default_rank_rtol` by default.
    overwrite : bool, optional
        Let LAPACK overwrite ``J`` (and, for ``"semi_normal"``, keep it).
    method : str, default "auto"
        One of :data:`FACTORIZATION_METHODS`.

    Raises
    ------
    ValueError
        If ``p > n`` (use :func:`kernel_factorization`) or ``method`` is unknown.
    numpy.linalg.LinAlgError
        If ``method="semi_normal"`` and :math:`J^\top J` is not numerically
        positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> factorization = factorize(J)
    >>> factorization.method
    'householder'
    >>> factorization.pinv(np.array([1.0, 4.0, 5.0]))
    array([1., 2.])
    >>> factorization.project(np.array([1.0, 4.0, 5.0]))
    array([1., 4., 0.])
    >>> float(factorization.condition)
    2.0
    """

    def __init__(
        self,
        J: np.ndarray,
        *,
        rank_rtol: float | None = None,
        overwrite: bool = False,
        method: str = "auto",
    ):
        n, p = J.shape
        if p > n:
            raise ValueError(
                f"a JacobianFactorization needs p <= n, got J of shape {J.shape}; "
                "use kernel_factorization for p > n"
            )
        if not isinstance(method, str) or method not in FACTORIZATION_METHODS:
            raise ValueError(
                f"`method` must be one of {FACTORIZATION_METHODS}, got {method!r}"
            )
        self.shape = (n, p)
        self.rank_rtol = default_rank_rtol(n, p) if rank_rtol is None else rank_rtol
        self._J = self._reflectors = self._Q = self._R = None
        self._singular_values = self._bound = self._estimate = self._inverse = None
        self._steps = 0
        if method == "auto":
            method = "householder" if _small(n, p) else "semi_normal"
            if method == "semi_normal" and not self._semi_normal(J, automatic=True):
                method = "householder_r"
        elif method == "semi_normal" and not self._semi_normal(J, automatic=False):
            raise np.linalg.LinAlgError(
                "J^T J is not numerically positive definite (cond(J) >~ 1e8): the "
                'semi-normal equations cannot solve with J; use method="householder_r"'
            )
        if method == "householder":
            self._Q, self._R = scipy.linalg.qr(
                J, mode="economic", overwrite_a=overwrite, check_finite=False
            )
        elif method == "householder_r":
            # The same LAPACK call as "householder" (so the same R), without
            # forming Q: Q^T g and Q v apply the reflectors (dormqr).
            (qr, tau), self._R = scipy.linalg.qr(
                J, mode="raw", overwrite_a=overwrite, check_finite=False
            )
            self._reflectors = (qr, tau)
        self.method = method

    def _semi_normal(self, J: np.ndarray, *, automatic: bool) -> bool:
        """Cholesky-factor J^T J; False if it fails or (automatic) J is beyond CSNE's range."""
        self._R = _cholesky(J.T @ J)
        if self._R is None:
            return False
        if automatic and not self._in_csne_range():
            self._R = self._bound = self._estimate = self._inverse = None
            return False
        self._J = J
        self._steps = 1 if self._condition_bound() <= _CSNE_ONE_STEP_CONDITION else 2
        self._inverse = None
        return True

    def _in_csne_range(self) -> bool:
        """Whether cond(R) is within CSNE's range (see the constants above)."""
        p = self.shape[1]
        if self.condition_estimate > p * _CSNE_MAX_BOUND:
            return False  # cond_2 >= kappa_1 / p: no need for the costlier bound
        bound = self._condition_bound()
        if bound <= _CSNE_MAX_CONDITION:
            return True
        if not bound <= _CSNE_MAX_BOUND:
            return False
        # Lanczos to 1e-3 is ample to compare with the threshold.
        estimate = _lanczos_norm(self._R, 1e-3) * _lanczos_norm(self._inverse, 1e-3)
        return estimate <= _CSNE_MAX_CONDITION

    # ------------------------------------------------------------------
    # The factors

    @property
    def R(self) -> np.ndarray:
        """The upper triangular factor, shape ``(p, p)``."""
        return self._R

    @property
    def Q(self) -> np.ndarray:
        r"""The orthonormal factor, shape ``(n, p)``, formed on first use.

        ``"householder_r"`` forms it from the reflectors (LAPACK ``orgqr``,
        as ``"householder"`` does); ``"semi_normal"`` by CholeskyQR2 from
        :math:`Q_1 = JR^{-1}` (:math:`Q_1^\top Q_1 = R_2^\top R_2`,
        :math:`Q = Q_1R_2^{-1}`, a third step if :math:`Q_1^\top Q_1` is far
        from :math:`I`), orthonormal to working accuracy while
        :math:`\operatorname{cond}(J) \ll \epsilon^{-1/2}` (Fukaya et al.,
        2020; CSNE's range ends far below); it then replaces :attr:`R` by the
        product of the triangular factors, so that :math:`J = QR` holds.
        """
        if self._Q is None:
            if self.method == "householder_r":
                qr, tau = self._reflectors
                # As scipy.linalg.qr(mode="economic"): the same Q, bit for bit.
                dorgqr = scipy.linalg.lapack.dorgqr
                lwork = int(dorgqr(qr, tau, lwork=-1)[1][0])  # workspace query
                self._Q = dorgqr(qr, tau, lwork=max(lwork, 1))[0]
            else:
                self._Q, self._R = _cholesky_qr2(self._J, self._R)
                self._singular_values = self._bound = self._estimate = None
        return self._Q

    @property
    def nbytes(self) -> int:
        """The bytes held by the factors (and by :math:`J`, for ``"semi_normal"``)."""
        held = [self._Q, self._R, self._J]
        if self._reflectors is not None:
            held.extend(self._reflectors)
        return sum(array.nbytes for array in held if array is not None)

    # ------------------------------------------------------------------
    # Singular values, condition and rank

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of :math:`J`, decreasing, shape ``(p,)``: ``svdvals`` of :attr:`R`.

        For ``"semi_normal"`` this forms :attr:`Q` first, so that they come
        from the backward-stable :math:`R` (the Cholesky factor resolves the
        small ones only to :math:`\\epsilon\\operatorname{cond}(J)^2`).
        """
        if self._singular_values is None:
            if self.method == "semi_normal":
                self.Q  # noqa: B018 - CholeskyQR2 refines R
            self._singular_values = scipy.linalg.svdvals(self._R, check_finite=False)
        return self._singular_values

    @property
    def sigma_max(self) -> float:
        r""":math:`\sigma_{max}(J)`: ``singular_values[0]``, or without an SVD for the fast methods.

        ``"householder"`` (and any factorization whose singular values are
        known) takes ``singular_values[0]``. The others take
        :math:`\sqrt{\lambda_{max}(R^\top R)}` by Lanczos iteration (ARPACK,
        to working accuracy, from a fixed start): :math:`O(p^2)` work per
        step instead of an :math:`O(p^3)` SVD.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorize(np.diag([1.0, 3.0, 2.0])).sigma_max
        3.0
        """
        p = self.shape[1]
        if self.method == "householder" or self._singular_values is not None or p < 3:
            return float(self.singular_values[0]) if p else 0.0
        largest = _lanczos_norm(self._R, 0.0)
        return largest if math.isfinite(largest) else float(self.singular_values[0])

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

    @property
    def condition_estimate(self) -> float:
        r"""LAPACK ``trcon``'s estimate of :math:`\kappa_1(R)`, an estimate of :math:`\operatorname{cond}(J)`.

        No SVD: :math:`O(p^2)` work. It estimates
        :math:`\kappa_1(R) = \|R\|_1\|R^{-1}\|_1` from below (Higham's
        estimator, usually within a factor 3), and
        :math:`\kappa_2/p \le \kappa_1 \le p\,\kappa_2`, so it is at most
        :math:`p` times the condition number :attr:`condition` (inf if
        :math:`R` is singular).

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorize(np.diag([1.0, 1e-3, 10.0])).condition_estimate
        10000.0
        """
        if self._estimate is None:
            p = self.shape[1]
            if p == 0:
                self._estimate = 1.0
            else:
                rcond = scipy.linalg.lapack.dtrcon(self._R, norm="1", uplo="U")[0]
                self._estimate = math.inf if not rcond > 0 else 1.0 / float(rcond)
        return self._estimate

    def _condition_bound(self) -> float:
        r"""A proved upper bound of :math:`\kappa_2(R)` from :math:`R^{-1}` (LAPACK ``trtri``).

        :math:`\|A\|_2 \le \min(\|A\|_F, \sqrt{\|A\|_1\|A\|_\infty})` for
        :math:`A = R` and :math:`A = R^{-1}`; their product bounds
        :math:`\kappa_2(R)` and is at most :math:`p\,\kappa_2(R)`. The
        computed :math:`R^{-1}` is within :math:`c\,p\,\epsilon\,\kappa` of the
        exact one (Higham, *Accuracy and Stability*, 2002, section 14.2),
        which ``_certified_full_rank`` allows for. inf if singular.
        """
        if self._bound is None:
            p = self.shape[1]
            if p == 0:
                self._bound = 1.0
            else:
                inverse, info = scipy.linalg.lapack.dtrtri(self._R, lower=0)
                if not hasattr(self, "method"):  # constructing: for _in_csne_range
                    self._inverse = inverse
                with np.errstate(over="ignore", invalid="ignore"):
                    bound = _two_norm_bound(self._R) * _two_norm_bound(inverse)
                self._bound = bound if info == 0 and math.isfinite(bound) else math.inf
        return self._bound

    def _certified_full_rank(self) -> bool:
        r"""Whether the exact test on ``svdvals(R)`` is proved to find full rank, with no SVD.

        With :math:`K` the computed ``_condition_bound``, :math:`c` =
        ``_ROUNDING_CONSTANT``, and :math:`K c p \epsilon \le 1/4`, the exact
        bound is at most :math:`4K/3`, so :math:`\sigma_p \ge 3\sigma_1/(4K)`.
        The computed singular values :math:`\hat\sigma_i` are within
        :math:`c p \epsilon \sigma_1` of :math:`\sigma_i`, hence
        :math:`\hat\sigma_p \ge \sigma_1 (3/(4K) - cp\epsilon) \ge
        \sigma_1/(2K)`, and with :math:`K \le 1/(4\,\mathtt{rank\_rtol})`
        this is :math:`\ge 2\,\mathtt{rank\_rtol}\,\sigma_1 >
        \mathtt{rank\_rtol}\,\hat\sigma_1`: the test finds full rank. When
        the bound is larger the certificate is inconclusive.
        """
        bound = self._condition_bound()
        p = self.shape[1]
        return (
            bound * self.rank_rtol <= 0.25
            and bound * _ROUNDING_CONSTANT * max(p, 1) * _EPS <= 0.25
        )

    def condition_at_most(self, limit: float) -> bool:
        r"""Whether :attr:`condition` :math:`\le` ``limit``, decided without an SVD when provable.

        If twice the proved bound of :math:`\kappa_2(R)` (see
        :meth:`rank_info`) is at most ``limit`` the answer is True without an
        SVD (the argument of :meth:`rank_info`, with the computed ratio
        within a factor 3/2 of the exact one); otherwise :attr:`condition`
        is computed and compared.

        Parameters
        ----------
        limit : float
            The largest accepted condition number.

        Returns
        -------
        bool

        Raises
        ------
        ValueError
            If ``limit`` is not a real number.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorize(np.diag([1.0, 2.0, 4.0])).condition_at_most(100.0)
        True
        """
        if isinstance(limit, bool) or not isinstance(limit, (int, float, np.floating)):
            raise ValueError(f"`limit` must be a real number, got {limit!r}")
        bound = self._condition_bound()
        p = self.shape[1]
        if (
            2.0 * bound <= limit
            and bound * _ROUNDING_CONSTANT * max(p, 1) * _EPS <= 0.25
        ):
            return True
        return self.condition <= limit

    def rank_info(self) -> RankInfo:
        r"""The numerical rank by the core's one test (see the module docstring).

        The exact test counts the singular values of :attr:`R` above
        ``rank_rtol`` :math:`\sigma_{max}`. A cheap certificate decides first
        (a proved bound of :math:`\kappa_2(R)` from :math:`R^{-1}`, see the
        module docstring): when it proves full rank, no SVD is computed and
        the result's ``singular_values`` and ``tolerance`` are computed on
        first access; otherwise the exact test runs. The decision is the
        exact test's either way.

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
        p = self.shape[1]
        if self._singular_values is None and p > 0 and self._certified_full_rank():
            return _CertifiedRankInfo(
                p, p, self.rank_rtol, lambda: self.singular_values
            )
        return _rank_test(self.singular_values, p, self.rank_rtol)

    def check_rank(self) -> None:
        r"""Raise :class:`RankDeficiencyError` unless :math:`J` has full column rank.

        Decided as in :meth:`rank_info` (no SVD when the certificate proves
        full rank).

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

    # ------------------------------------------------------------------
    # Operations

    def _apply_reflectors(self, c: np.ndarray, trans: str) -> np.ndarray:
        """``Q^T c`` (first p rows) or ``Q c`` (c padded to n rows) from the reflectors."""
        qr, tau = self._reflectors
        n, p = self.shape
        vector = c.ndim == 1
        c = c.reshape(c.shape[0], -1)
        if trans == "N":
            c = np.vstack([c, np.zeros((n - p, c.shape[1]))])
        c = np.asfortranarray(c, dtype=np.float64)
        dormqr = scipy.linalg.lapack.dormqr
        lwork = int(dormqr("L", trans, qr, tau, c, -1)[1][0])  # workspace query
        out = dormqr("L", trans, qr, tau, c, max(lwork, 1))[0]
        out = out[:p] if trans == "T" else out
        return out[:, 0] if vector else out

    def _csne(self, g: np.ndarray) -> np.ndarray:
        r""":math:`J^+ g` by corrected semi-normal equations (Björck, 1987)."""
        J, R = self._J, self._R
        x = _gram_solve(R, J.T @ g)
        for _ in range(self._steps):
            x = x + _gram_solve(R, J.T @ (g - J @ x))
        return x

    def reduce(self, g: np.ndarray) -> np.ndarray:
        r""":math:`Q^\top g`, the coordinates of :math:`Pg` in the orthonormal basis :math:`Q`.

        Without an explicit :math:`Q` (``"semi_normal"``), :math:`Q^\top g =
        Q^\top J J^+ g = R\,J^+g` with :math:`Q = JR^{-1}`, from the refined
        :meth:`pinv`; ``"householder_r"`` applies the reflectors.

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
        if self._Q is not None:
            return self._Q.T @ g
        if self.method == "householder_r":
            return self._apply_reflectors(g, "T")
        return self._R @ self._csne(g)

    def pinv(self, g: np.ndarray) -> np.ndarray:
        r""":math:`J^+ g = R^{-1}Q^\top g`, the least-squares solution of :math:`J\eta = g`.

        ``"semi_normal"``: :math:`x = (R^\top R)^{-1}J^\top g`, then
        :math:`x \mathrel{+}= (R^\top R)^{-1}J^\top(g - Jx)` once or twice.

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
        if self._Q is None and self.method == "semi_normal":
            return self._csne(g)
        return _upper_triangular_solve(self._R, self.reduce(g))

    def pinv_transpose(self, v: np.ndarray) -> np.ndarray:
        r""":math:`(J^+)^\top v = Q R^{-\top} v`.

        ``"semi_normal"``: the minimum-norm solution :math:`z = Jy` of
        :math:`J^\top z = v`, :math:`y = (R^\top R)^{-1}v`, corrected as
        :meth:`pinv` by :math:`y \mathrel{+}= (R^\top R)^{-1}(v - J^\top Jy)`.

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
        if self._Q is not None:
            return self._Q @ _upper_triangular_solve(self._R, v, "T")
        if self.method == "householder_r":
            return self._apply_reflectors(_upper_triangular_solve(self._R, v, "T"), "N")
        J, R = self._J, self._R
        y = _gram_solve(R, v)
        z = J @ y
        for _ in range(self._steps):
            y = y + _gram_solve(R, v - J.T @ z)
            z = J @ y
        return z

    def project(self, w: np.ndarray) -> np.ndarray:
        r"""The orthogonal projection :math:`QQ^\top w = JJ^+w` onto the range of :math:`J`.

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
        if self._Q is not None:
            return self._Q @ (self._Q.T @ w)
        if self.method == "householder_r":
            return self._apply_reflectors(self._apply_reflectors(w, "T"), "N")
        return self._J @ self._csne(w)

    def apply(self, eta: np.ndarray) -> np.ndarray:
        r""":math:`J\eta`: :math:`Q(R\eta)` for ``"householder"``, else from :math:`J` or the reflectors.

        Parameters
        ----------
        eta : ndarray, shape (p,) or (p, k)
            A vector (or columns) of parameter space.

        Returns
        -------
        ndarray, shape (n,) or (n, k)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import factorize
        >>> factorization = factorize(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        >>> factorization.apply(np.array([1.0, 1.0]))
        array([1., 2., 0.])
        """
        if self.method == "householder":
            return self._Q @ (self._R @ eta)
        if self._J is not None:
            return self._J @ eta
        if self._Q is not None:
            return self._Q @ (self._R @ eta)
        return self._apply_reflectors(self._R @ eta, "N")

    def damped_solve(self, g: np.ndarray, damping: float) -> np.ndarray:
        r""":math:`(J^\top J + \lambda I)^{-1} J^\top g`, by QR of :math:`[R; \sqrt\lambda I]`.

        For ``damping == 0`` this is :meth:`pinv` (check the rank first).
        ``"semi_normal"``: corrected semi-normal equations of the stacked
        :math:`A = [J; \sqrt\lambda I]`, with the Cholesky factor of
        :math:`R^\top R + \lambda I` (:math:`\operatorname{cond}(A) \le
        \operatorname{cond}(J)`).

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
        if self._Q is not None or self.method == "householder_r":
            return stacked_lm_direction(self._R, self.reduce(g), damping)
        J, R = self._J, self._R
        gram = scipy.linalg.blas.dsyrk(1.0, R, trans=1)  # upper of R^T R
        gram[np.diag_indices_from(gram)] += damping
        R_damped = _cholesky(gram.T)  # dsyrk filled the upper triangle of gram
        x = _gram_solve(R_damped, J.T @ g)
        for _ in range(self._steps):
            x = x + _gram_solve(R_damped, J.T @ (g - J @ x) - damping * x)
        return x

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

        For ``"semi_normal"`` this forms :attr:`Q` first (see
        :attr:`singular_values`); :meth:`reduce` then applies it.

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
        if self.method == "semi_normal":
            self.Q  # noqa: B018 - CholeskyQR2 refines R
        return scipy.linalg.svd(self._R, check_finite=False, lapack_driver="gesdd")


def _cholesky_qr2(J: np.ndarray, R1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""CholeskyQR2 from the Cholesky factor ``R1`` of :math:`J^\top J`: ``Q`` and ``R``.

    :math:`Q_1 = JR_1^{-1}`, then :math:`Q_{k+1} = Q_kR_{k+1}^{-1}` with
    :math:`R_{k+1}` the Cholesky factor of :math:`Q_k^\top Q_k`, once, or
    twice when :math:`\|Q_1^\top Q_1 - I\|_F > 10^{-4}` (CholeskyQR3; the
    shifted first step of Fukaya et al., 2020, is not needed since
    :math:`R_1` exists). Falls back to Householder QR if a Gram matrix is
    not positive definite.
    """
    trsm = scipy.linalg.blas.dtrsm
    Q = trsm(1.0, R1, J, side=1)  # J R1^{-1}
    R = R1
    for step in range(2):
        gram = Q.T @ Q
        far = float(np.linalg.norm(gram - np.eye(gram.shape[0]))) > 1e-4
        R_step = _cholesky(gram)
        if R_step is None:
            return scipy.linalg.qr(J, mode="economic", check_finite=False)
        Q = trsm(1.0, R_step, Q, side=1)
        R = scipy.linalg.blas.dtrmm(1.0, R_step, R)
        if step == 0 and not far:
            break
    return Q, R


def factorize(
    J: np.ndarray,
    *,
    rank_rtol: float | None = None,
    overwrite: bool = False,
    method: str = "auto",
    **krylov_options,
) -> JacobianFactorization:
    r"""Factorize an ``(n, p)`` Jacobian with ``p <= n``: the core's one entry point.

    Given a :class:`JacobianOperator` instead of an array, the matrix-free
    backend: a :class:`KrylovFactorization` (``method == "krylov"``) with the
    same methods, and the keyword options ``tol`` (:data:`KRYLOV_TOL`),
    ``maxiter``, ``rng``, ``progress`` and ``sketch_size`` (see
    ``manifolds._krylov``).

    Parameters
    ----------
    J : ndarray, shape (n, p)
        The Jacobian, real and finite, with ``p <= n``.
    rank_rtol : float, optional
        The relative rank tolerance in :math:`(0, 1)`;
        :func:`default_rank_rtol` by default.
    overwrite : bool, optional
        Let LAPACK overwrite ``J`` (saves a copy of an ``(n, p)`` array); the
        ``"semi_normal"`` method keeps ``J`` by reference instead.
    method : str, default "auto"
        One of :data:`FACTORIZATION_METHODS`; ``"auto"`` chooses as the module
        docstring describes. The choice is the result's ``method``.

    Returns
    -------
    JacobianFactorization

    Raises
    ------
    ValueError
        If ``J`` is not a finite real matrix with ``p <= n``,
        ``rank_rtol`` is not in :math:`(0, 1)`, or ``method`` is unknown.
    numpy.linalg.LinAlgError
        If ``method="semi_normal"`` and :math:`J^\top J` is not numerically
        positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import factorize
    >>> J = np.random.default_rng(0).normal(size=(5, 2))
    >>> g = np.arange(5.0)
    >>> bool(np.allclose(factorize(J).pinv(g), np.linalg.pinv(J) @ g))
    True
    >>> fast = factorize(J, method="semi_normal")
    >>> fast.method, bool(np.allclose(fast.pinv(g), np.linalg.pinv(J) @ g))
    ('semi_normal', True)
    """
    from manifolds import _krylov

    if isinstance(J, _krylov.JacobianOperator):
        return _krylov.KrylovFactorization(J, rank_rtol=rank_rtol, **krylov_options)
    if krylov_options:
        raise TypeError(f"options {sorted(krylov_options)} need a JacobianOperator `J`")
    J = as_finite_array("J", J, ndim=2)
    if J.shape[1] > J.shape[0]:
        raise ValueError(
            f"`J` must have no more columns than rows (p <= n), got shape {J.shape}; "
            "use kernel_factorization for p > n"
        )
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    return JacobianFactorization(
        J, rank_rtol=rank_rtol, overwrite=overwrite, method=method
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
    J: np.ndarray,
    *,
    kernel: np.ndarray | None = None,
    solver: str = "eigh",
    **krylov_options,
) -> KernelFactorization:
    r"""The factorization behind the kernel form, for an ``(n, p)`` Jacobian.

    Given a :class:`JacobianOperator`, a :class:`KrylovKernelFactorization`:
    preconditioned CG with products (options ``tol``, ``maxiter``, ``rng``,
    ``progress``, ``rank``), or with a dense ``kernel`` its ``"eigh"`` here
    and only :math:`J^\top` products.

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
    from manifolds import _krylov

    krylov = _krylov.KrylovKernelFactorization
    if operator := isinstance(J, _krylov.JacobianOperator):
        if kernel is None:
            return krylov(J, **krylov_options)
        solver = "eigh"
    elif krylov_options:
        raise TypeError(f"options {sorted(krylov_options)} need a JacobianOperator `J`")
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
    dense = KernelFactorization(U[:, order], eigenvalues, J=J)
    return krylov(J, dense=dense, **krylov_options) if operator else dense


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
