r"""The matrix-free (Krylov) backend of the linear-algebra core.

:func:`manifolds.linalg.factorize` and :func:`manifolds.linalg.kernel_factorization`
dispatch here when given a :class:`JacobianOperator`: :math:`J` is then
never formed, only products :math:`Jv` (``jvp``) and :math:`J^\top u`
(``vjp``), batched when the output map has ``jvp_batch``/``vjp_batch``.

Least squares (:math:`p \le n`): sketch and precondition
---------------------------------------------------------
A random sketch :math:`S \in \mathbb{R}^{s \times n}` with :math:`s = \min(n,
2p)` rows embeds the column space of :math:`J`: for every :math:`x`,
:math:`(1 - \varepsilon)\|Jx\| \le \|SJx\| \le (1 + \varepsilon)\|Jx\|`
with :math:`\varepsilon` independent of :math:`\operatorname{cond}(J)`
(w.h.p.; for a Gaussian sketch :math:`\varepsilon \approx \sqrt{p/s}`).
With :math:`SJ = QR`, the right-preconditioned :math:`A = JR^{-1}` then has
singular values in :math:`[1/(1+\varepsilon), 1/(1-\varepsilon)]`, so LSMR
(Fong and Saunders 2011) on :math:`A` converges at a rate that does not depend
on :math:`\operatorname{cond}(J)` (Rokhlin and Tygert 2008; Blendenpik,
Avron, Maymounkov and Toledo 2010; LSRN, Meng, Saunders and Mahoney 2014).

The sketch is a *sparse sign embedding* (Martinsson and Tropp, *Randomized
numerical linear algebra*, Acta Numerica 2020, section 9.2): every column of
:math:`S` has :math:`\zeta = 8` entries :math:`\pm 1/\sqrt\zeta` in random
rows, so :math:`\mathbb{E}\,S^\top S = I`. Why not Gaussian: :math:`SJ =
(J^\top S^\top)^\top` costs :math:`s` vector-Jacobian products, :math:`2nps`
flops, about :math:`4 \cdot 10^{13}` at :math:`n = 10^5, p = 10^4`, while a
map that accepts sparse cotangents (``accepts_sparse_cotangents``, e.g. the
two-layer network) applies the sparse :math:`S^\top` in :math:`O(\zeta np)`.
Other maps receive the sketch as dense blocks (then its cost is the
Gaussian one). The columns of :math:`S^\top` are processed in blocks, so
memory stays :math:`O(p \cdot \text{block})` besides the triangular factor:

- when :math:`8sp` bytes fit :data:`SKETCH_QR_BUDGET`, :math:`SJ` is stacked
  and :math:`R` comes from its Householder QR (the core's ``factorize``);
- otherwise the Gram matrix :math:`(SJ)^\top SJ` is accumulated in place
  (BLAS ``dsyrk``, :math:`\beta = 1`) and :math:`R` is its Cholesky factor
  (:func:`manifolds.linalg.gram_factor`, in place, with a diagonal shift if
  it fails). This squares :math:`\operatorname{cond}(SJ)`, which is harmless
  for a *preconditioner*: LSMR iterates on the true :math:`J`, and a Cholesky
  factor of a Gram matrix with condition :math:`\kappa^2 \ll \epsilon^{-1}`
  satisfies :math:`R^\top R = G + E`, :math:`\|E\| \lesssim p\epsilon\|G\|`,
  so :math:`JR^{-1}` keeps its embedding bound while
  :math:`\operatorname{cond}(J) \lesssim 10^7`; beyond, the shift keeps
  :math:`R` usable but the iteration count grows.

The damped problem :math:`\min\|[J; \sqrt\lambda I]\eta - [g; 0]\|` (LSMR's
``damp`` would damp :math:`R\eta`, not :math:`\eta`) is preconditioned by
the triangular factor of :math:`[R; \sqrt\lambda I]`, whose Gram matrix is
:math:`R^\top R + \lambda I \approx (SJ)^\top SJ + \lambda I`, the sketch of
the stacked matrix :math:`[SJ; \sqrt\lambda I]`.

``pinv_transpose`` solves :math:`A^\top y = R^{-\top}v` for the minimum-norm
:math:`y` (LSMR from :math:`y_0 = 0` stays in the range of :math:`A`, which is
that of :math:`J`), so :math:`y = (J^+)^\top v`.

Tolerances
----------
LSMR stops on its own tests with ``atol = btol = tol`` for the preconditioned
problem. Every solve then checks the *unpreconditioned* normal equations
with one more product each way: for :math:`\eta \approx J^+g`,
:math:`r = g - J\eta`,

.. math::

    \rho = \frac{\|J^\top r\|}{\hat\sigma\,(\hat\sigma\|\eta\| + \|r\|)}
    \le \mathtt{tol},

where :math:`\hat\sigma` estimates :math:`\sigma_{max}(J)` (Lanczos on
:math:`R`). This normalization is that of a backward error: a backward-stable
solver (the dense QR) reaches :math:`\rho = O(\epsilon)` at any condition
number, whereas :math:`\|J^\top r\|/\|J^\top g\|` cannot go below
:math:`\epsilon\operatorname{cond}(J)^2`-ish levels. A missed check restarts
LSMR once from its result at ``tol/10``; if it still misses,
:class:`~manifolds.exceptions.KrylovConvergenceError` is raised.

Rank and singular values are estimates
--------------------------------------
:attr:`KrylovFactorization.singular_values` are those of the sketch's
:math:`R`, i.e. of :math:`SJ`: within a factor :math:`1 \pm \varepsilon` of
:math:`J`'s (w.h.p.), not to working accuracy. The rank test (the core's one
test on these values) is therefore an estimate too; it decides correctly
unless :math:`\sigma_{min}(J)` lies within that factor of the tolerance.

The kernel form (:math:`p > n`)
-------------------------------
:math:`J^\top(K + \lambda I)^{-1}g` with :math:`Kv = J(J^\top v)`, by
preconditioned CG with the randomized Nyström preconditioner (Frangella,
Tropp and Udell, *Randomized Nyström preconditioning*, SIAM J. Matrix Anal.
Appl. 44, 2023): from :math:`r` products, :math:`\hat K = U\hat\Lambda U^\top`
and :math:`P^{-1} = (\hat\lambda_r + \lambda)U(\hat\Lambda + \lambda I)^{-1}U^\top
+ (I - UU^\top)`. The preconditioned condition number is at most
:math:`(\hat\lambda_r + \lambda + \|K - \hat K\|)/\lambda`, so the iteration
count stays bounded as :math:`\lambda \to 0` while the rank :math:`r` exceeds
the effective dimension of :math:`K` at :math:`\lambda` (a decaying spectrum).
CG stops when :math:`\|g - (K+\lambda)x\| \le \mathtt{tol}\,(\|g\| +
(\hat\lambda_1 + \lambda)\|x\|)` (a backward-error test, as above), checked
on the true residual at the end. With a dense closed-form ``kernel``, the
core's dense eigendecomposition is used and only :math:`J^\top` is applied.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from manifolds import linalg
from manifolds.exceptions import KrylovConvergenceError
from manifolds.validation import (
    as_finite_vector,
    check_generator,
    check_output_map,
    check_positive_int,
    check_positive_real,
    check_rank_rtol,
    describe,
)

__all__ = [
    "JacobianOperator",
    "KrylovFactorization",
    "KrylovInfo",
    "KrylovKernelFactorization",
    "SKETCH_QR_BUDGET",
]

#: Bytes of the stacked sketch :math:`SJ` (8 s p) up to which R comes from its QR.
SKETCH_QR_BUDGET = 2**28
#: Nonzeros per column of the sparse sign sketch.
_SKETCH_NONZEROS = 8
#: Bytes of one block of sketched columns (p x block) or of Nyström products.
_BLOCK_BYTES = 2**27
#: Seconds a solve runs before its progress bar appears.
_PROGRESS_DELAY = 2.0
#: Default rank of the Nyström preconditioner.
_NYSTROM_RANK = 100


@dataclass(frozen=True)
class KrylovInfo:
    """What the last Krylov solve did.

    Attributes
    ----------
    iterations : int
        Krylov iterations (LSMR or CG), over all restarts.
    residual : float
        The achieved relative residual of the unpreconditioned problem (see
        the module docstring of ``manifolds._krylov``).
    tolerance : float
        The tolerance it was checked against.
    converged : bool
        ``residual <= tolerance``.

    Examples
    --------
    >>> from manifolds.linalg import KrylovInfo
    >>> KrylovInfo(12, 3e-14, 1e-12, True).converged
    True
    """

    iterations: int
    residual: float
    tolerance: float
    converged: bool


def _progress_enabled(progress) -> bool:
    if progress is not None:
        return bool(progress)
    return os.environ.get("RIEMGN_PROGRESS", "1") != "0"


class _Progress:
    """A tqdm bar on stderr that appears only after a solve has run ``_PROGRESS_DELAY`` s."""

    def __init__(self, enabled: bool, total: int, description: str):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total,
                desc=description,
                delay=_PROGRESS_DELAY,
                file=sys.stderr,
                leave=False,
                unit="it",
            )

    def update(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class JacobianOperator(scipy.sparse.linalg.LinearOperator):
    r"""The Jacobian :math:`\operatorname{diag}(r)\,J(\theta)` of an output map, matrix-free.

    A ``scipy.sparse.linalg.LinearOperator`` of shape ``(n, p)``, float64:
    ``matvec`` is the output map's ``jvp``, ``rmatvec`` its ``vjp``;
    ``matmat``/``rmatmat`` use ``jvp_batch``/``vjp_batch`` when the map has
    them, else loop over columns. :math:`J` is never formed. Pass it to
    :func:`manifolds.linalg.factorize` (:math:`p \le n`) or
    :func:`manifolds.linalg.kernel_factorization` (:math:`p > n`).

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params : array_like, shape (n_params,)
        The point :math:`\theta`.
    row_scale : array_like, shape (n_outputs,), optional
        Scales :math:`r` of the rows (e.g. square roots of loss weights).

    Attributes
    ----------
    output_map, params, row_scale
        As given (``params`` and ``row_scale`` as checked float64 copies).
    n_products : int
        The number of products with :math:`J` or :math:`J^\top` so far (a
        batch of ``k`` columns counts ``k``).

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import JacobianOperator
    >>> theta = np.array([0.3, -0.2])
    >>> J = JacobianOperator(output_map, theta)
    >>> J.shape, J.n_products
    ((6, 2), 0)
    >>> bool(np.allclose(J @ np.ones(2), output_map.jacobian(theta) @ np.ones(2)))
    True
    >>> J.n_products
    1
    """

    def __init__(self, output_map, params, *, row_scale=None):
        output_map = check_output_map(output_map)
        n, p = int(output_map.n_outputs), int(output_map.n_params)
        params = np.array(as_finite_vector("params", params, p), dtype=np.float64)
        if row_scale is not None:
            row_scale = np.array(
                as_finite_vector("row_scale", row_scale, n), dtype=np.float64
            )
        super().__init__(dtype=np.dtype(np.float64), shape=(n, p))
        self.output_map = output_map
        self.params = params
        self.row_scale = row_scale
        self.n_products = 0

    def _scaled_rows(self, out):
        if self.row_scale is None:
            return out
        return out * (self.row_scale if out.ndim == 1 else self.row_scale[:, None])

    def _matvec(self, v):
        self.n_products += 1
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        return self._scaled_rows(np.asarray(self.output_map.jvp(self.params, v)))

    def _rmatvec(self, u):
        self.n_products += 1
        u = self._scaled_rows(np.asarray(u, dtype=np.float64).reshape(-1))
        return np.asarray(self.output_map.vjp(self.params, u))

    def _matmat(self, V):
        V = np.asarray(V, dtype=np.float64)
        batch = getattr(self.output_map, "jvp_batch", None)
        if batch is None:
            out = np.column_stack([self._matvec(v) for v in V.T])
            return out.reshape(self.shape[0], V.shape[1])
        self.n_products += V.shape[1]
        return self._scaled_rows(np.asarray(batch(self.params, V)))

    def _rmatmat(self, W):
        batch = getattr(self.output_map, "vjp_batch", None)
        if scipy.sparse.issparse(W):
            if self.row_scale is not None:
                W = scipy.sparse.diags_array(self.row_scale) @ W
            if batch is None or not getattr(
                self.output_map, "accepts_sparse_cotangents", False
            ):
                W = W.toarray()
            else:
                self.n_products += W.shape[1]
                return np.asarray(batch(self.params, scipy.sparse.csc_array(W)))
        elif self.row_scale is not None:
            W = np.asarray(W, dtype=np.float64) * self.row_scale[:, None]
        W = np.asarray(W, dtype=np.float64)
        if batch is None:
            self.n_products += W.shape[1]
            out = [np.asarray(self.output_map.vjp(self.params, w)) for w in W.T]
            return np.column_stack(out).reshape(self.shape[1], W.shape[1])
        self.n_products += W.shape[1]
        return np.asarray(batch(self.params, W))


def _check_options(tol, maxiter, rng, progress):
    tol = check_positive_real("tol", tol)
    if not tol < 1:
        raise ValueError(f"`tol` must be in (0, 1), got {describe(tol)}")
    if maxiter is not None:
        maxiter = check_positive_int("maxiter", maxiter)
    rng = np.random.default_rng(0) if rng is None else check_generator(rng)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(
            f"`progress` must be None, True or False, got {describe(progress)}"
        )
    return tol, maxiter, rng, progress


def _check_operator(J) -> JacobianOperator:
    if not isinstance(J, JacobianOperator):
        raise TypeError(f"`J` must be a JacobianOperator, got {type(J).__name__}")
    return J


def _sparse_sign_sketch(n: int, s: int, rng: np.random.Generator):
    r""":math:`S^\top` (n x s, CSC): each row has :math:`\zeta` entries :math:`\pm 1/\sqrt\zeta`."""
    zeta = min(_SKETCH_NONZEROS, s)
    rows = np.repeat(np.arange(n), zeta)
    cols = rng.integers(0, s, size=n * zeta)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n * zeta) / math.sqrt(zeta)
    return scipy.sparse.csc_array((signs, (rows, cols)), shape=(n, s))


def _sketch_factor(J: JacobianOperator, s: int, rng, bar) -> tuple[np.ndarray, float]:
    """The triangular factor of the sketch ``S J`` and the Cholesky shift (0 for QR)."""
    n, p = J.shape
    St = _sparse_sign_sketch(n, s, rng)
    block = max(1, min(s, _BLOCK_BYTES // (8 * max(p, 1))))
    stacked = 8 * s * p <= SKETCH_QR_BUDGET
    parts = [] if stacked else None
    gram = None if stacked else np.zeros((p, p), order="F")
    for start in range(0, s, block):
        B = J.rmatmat(St[:, start : start + block])  # (S_block J)^T, shape (p, k)
        if stacked:
            parts.append(B)
        else:
            # B.T is Fortran-ordered when B is C-ordered: syrk takes it uncopied.
            gram = scipy.linalg.blas.dsyrk(
                1.0, B.T, beta=1.0, c=gram, trans=1, lower=0, overwrite_c=1
            )
        bar.update(B.shape[1])
    if stacked:
        SJ = np.hstack(parts).T
        return linalg.factorize(SJ, method="householder_r").R, 0.0
    return linalg.gram_factor(gram)


class KrylovFactorization:
    r"""The matrix-free counterpart of :class:`~manifolds.linalg.JacobianFactorization`.

    Built by :func:`manifolds.linalg.factorize` from a :class:`JacobianOperator`
    with :math:`p \le n`. Holds only the :math:`p \times p` triangular factor
    :math:`R` of a sketch :math:`SJ` (see the module docstring of
    ``manifolds._krylov``) and solves by preconditioned LSMR. The singular
    values, condition number and rank are *estimates* from :math:`R`.

    Parameters
    ----------
    J : JacobianOperator
        The Jacobian, shape ``(n, p)`` with ``p <= n``.
    rank_rtol : float, optional
        The relative rank tolerance; :func:`~manifolds.linalg.default_rank_rtol`.
    tol : float, default KRYLOV_TOL
        The relative tolerance of every solve, in (0, 1).
    maxiter : int, optional
        The most Krylov iterations per solve; ``2 p + 100`` by default.
    rng : numpy.random.Generator, optional
        Draws the sketch; a fixed seed by default (reproducible runs).
    progress : bool, optional
        Show a progress bar on stderr for solves that run > 2 s; None
        (default) shows it unless the environment sets ``RIEMGN_PROGRESS=0``.
    sketch_size : int, optional
        The rows :math:`s` of the sketch, :math:`p \le s`; ``min(n, 2p)`` by default.

    Raises
    ------
    ValueError
        If ``p > n``, ``tol`` is not in (0, 1), ``maxiter``, ``sketch_size``
        or ``rank_rtol`` is out of range.
    TypeError
        If ``J`` is not a :class:`JacobianOperator` or ``rng`` not a Generator.

    Attributes
    ----------
    method : str
        ``"krylov"``.
    last_info : KrylovInfo or None
        The last solve's iterations and residual.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import JacobianOperator, factorize
    >>> theta = np.array([0.3, -0.2])
    >>> factorization = factorize(JacobianOperator(output_map, theta))
    >>> factorization.method
    'krylov'
    >>> g = np.arange(6.0)
    >>> dense = factorize(output_map.jacobian(theta))
    >>> bool(np.allclose(factorization.pinv(g), dense.pinv(g), rtol=1e-10))
    True
    >>> factorization.last_info.converged
    True
    """

    method = "krylov"

    def __init__(
        self,
        J,
        *,
        rank_rtol=None,
        tol=linalg.KRYLOV_TOL,
        maxiter=None,
        rng=None,
        progress=None,
        sketch_size=None,
    ):
        J = _check_operator(J)
        n, p = J.shape
        if p > n:
            raise ValueError(
                f"`J` must have p <= n for factorize, got shape {J.shape}; "
                "use kernel_factorization for p > n"
            )
        self.tol, self.maxiter, rng, self._progress = _check_options(
            tol, maxiter, rng, progress
        )
        self.rank_rtol = (
            linalg.default_rank_rtol(n, p)
            if rank_rtol is None
            else check_rank_rtol(rank_rtol)
        )
        s = (
            min(n, 2 * p)
            if sketch_size is None
            else check_positive_int("sketch_size", sketch_size)
        )
        if not p <= s:
            raise ValueError(f"`sketch_size` must be >= p = {p}, got {s}")
        self.J, self.shape, self.sketch_size = J, (n, p), s
        self.last_info = None
        self._singular_values = self._sigma_max = None
        self._damped = (None, None)
        bar = self._bar(s, "sketch")
        try:
            self.R, self.shift = _sketch_factor(J, s, rng, bar)
        finally:
            bar.close()

    def _bar(self, total, description):
        return _Progress(_progress_enabled(self._progress), total, description)

    # ------------------------------------------------------------------
    # Estimates from the sketch

    @property
    def nbytes(self) -> int:
        """The bytes held by :math:`R` and by the factor of the last damped solve."""
        damped = self._damped[1]
        return self.R.nbytes + (0 if damped is None else damped.nbytes)

    @property
    def singular_values(self) -> np.ndarray:
        r"""Estimates of the singular values of :math:`J`: those of :math:`R` (of :math:`SJ`), decreasing."""
        if self._singular_values is None:
            self._singular_values = linalg.singular_values(self.R)
        return self._singular_values

    @property
    def sigma_max(self) -> float:
        r"""An estimate of :math:`\sigma_{max}(J)`: :math:`\|R\|_2` by Lanczos (no SVD)."""
        if self._sigma_max is None:
            if self._singular_values is not None or self.shape[1] < 3:
                s = self.singular_values
                self._sigma_max = float(s[0]) if s.size else 0.0
            else:
                largest = linalg._lanczos_norm(self.R, 1e-3)
                self._sigma_max = (
                    largest
                    if math.isfinite(largest)
                    else float(self.singular_values[0])
                )
        return self._sigma_max

    @property
    def sigma_ratio(self) -> float:
        r"""An estimate of :math:`\sigma_{min}/\sigma_{max}` (0 for :math:`J = 0`)."""
        s = self.singular_values
        if s.size == 0:
            return 1.0
        return 0.0 if s[0] == 0 else float(s[-1] / s[0])

    @property
    def condition(self) -> float:
        r"""An estimate of :math:`\operatorname{cond}(J)` (inf if singular)."""
        ratio = self.sigma_ratio
        return math.inf if ratio == 0 else 1.0 / ratio

    def condition_at_most(self, limit: float) -> bool:
        """Whether the estimated :attr:`condition` is at most ``limit``.

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
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> krylov.condition_at_most(1e6), krylov.condition_at_most(1.0)
        (True, False)
        """
        if isinstance(limit, bool) or not isinstance(limit, (int, float, np.floating)):
            raise ValueError(f"`limit` must be a real number, got {limit!r}")
        return self.condition <= limit

    def rank_info(self) -> linalg.RankInfo:
        """The core's rank test on the estimated singular values (an estimate, see the module docstring).

        Returns
        -------
        RankInfo

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> krylov.rank_info().rank
        2
        """
        return linalg._rank_test(self.singular_values, self.shape[1], self.rank_rtol)

    def check_rank(self) -> None:
        """Raise :class:`~manifolds.linalg.RankDeficiencyError` if the estimated rank is below ``p``.

        Raises
        ------
        RankDeficiencyError

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> krylov.check_rank()  # full rank: nothing happens
        """
        info = self.rank_info()
        if info.rank < self.shape[1]:
            raise linalg.RankDeficiencyError(
                info.rank, self.shape[1], self.sigma_ratio, self.rank_rtol
            )

    # ------------------------------------------------------------------
    # Solves

    def _lsmr(self, A, b, check, description):
        """LSMR on ``A`` (already preconditioned) with one warm restart; ``check(x) -> (rho, extra)``."""
        maxiter = self.maxiter or 2 * self.shape[1] + 100
        bar = self._bar(maxiter, description)
        counted = _Counted(A, bar)
        x, iterations, atol = None, 0, self.tol
        try:
            for _ in range(2):
                result = scipy.sparse.linalg.lsmr(
                    counted,
                    b,
                    atol=atol,
                    btol=atol,
                    conlim=1e300,
                    maxiter=maxiter - iterations,
                    x0=x,
                )
                x, iterations = result[0], iterations + int(result[2])
                rho, extra = check(x)
                if rho <= self.tol or iterations >= maxiter:
                    break
                atol = atol / 10
        finally:
            bar.close()
        converged = bool(rho <= self.tol)
        self.last_info = KrylovInfo(iterations, float(rho), self.tol, converged)
        if not converged:
            raise KrylovConvergenceError(iterations, float(rho), self.tol)
        return x, extra

    def _preconditioned(self, R):
        """:math:`A = JR^{-1}`, shape (n, p)."""
        J = self.J
        return scipy.sparse.linalg.LinearOperator(
            J.shape,
            matvec=lambda z: J.matvec(_solve(R, np.ravel(z))),
            rmatvec=lambda y: _solve(R, J.rmatvec(np.ravel(y)), "T"),
            dtype=np.float64,
        )

    def _least_squares(self, g):
        """:math:`\\eta = J^+ g` and :math:`J\\eta`."""
        sigma = self.sigma_max

        def check(z):
            eta = _solve(self.R, z)
            Jeta = self.J.matvec(eta)
            r = g - Jeta
            rho = _ratio(
                np.linalg.norm(self.J.rmatvec(r)),
                sigma * (sigma * np.linalg.norm(eta) + np.linalg.norm(r)),
            )
            return rho, (eta, Jeta)

        return self._lsmr(self._preconditioned(self.R), g, check, "lsmr pinv")[1]

    def pinv(self, g) -> np.ndarray:
        r""":math:`J^+ g`, the least-squares solution of :math:`\min\|J\eta - g\|`.

        Parameters
        ----------
        g : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (p,)

        Raises
        ------
        KrylovConvergenceError
            If the solve misses ``tol``.

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> g = np.arange(6.0)
        >>> bool(np.allclose(krylov.pinv(g), dense.pinv(g), rtol=1e-10))
        True
        """
        g = as_finite_vector("g", g, self.shape[0])
        return self._least_squares(g)[0]

    def project(self, w) -> np.ndarray:
        r""":math:`Pw = JJ^+w`, the orthogonal projection onto the range of :math:`J`.

        Parameters
        ----------
        w : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> w = np.arange(6.0)
        >>> bool(np.allclose(krylov.project(w), dense.project(w), rtol=1e-10))
        True
        """
        w = as_finite_vector("w", w, self.shape[0])
        return self._least_squares(w)[1]

    def apply(self, eta) -> np.ndarray:
        r""":math:`J\eta`, one Jacobian-vector product.

        Parameters
        ----------
        eta : array_like, shape (p,)

        Returns
        -------
        ndarray, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> eta = np.array([1.0, 2.0])
        >>> bool(np.allclose(krylov.apply(eta), dense.apply(eta)))
        True
        """
        eta = as_finite_vector("eta", eta, self.shape[1])
        return self.J.matvec(eta)

    def pinv_transpose(self, v) -> np.ndarray:
        r""":math:`(J^+)^\top v`: the minimum-norm :math:`y` with :math:`J^\top y = v`.

        Parameters
        ----------
        v : array_like, shape (p,)

        Returns
        -------
        ndarray, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> v = np.array([1.0, -1.0])
        >>> y = krylov.pinv_transpose(v)
        >>> bool(np.allclose(y, dense.pinv_transpose(v), rtol=1e-10))
        True
        """
        v = as_finite_vector("v", v, self.shape[1])
        sigma = self.sigma_max

        def check(y):
            defect = np.linalg.norm(self.J.rmatvec(y) - v)
            return _ratio(defect, sigma * np.linalg.norm(y) + np.linalg.norm(v)), y

        A = self._preconditioned(self.R)
        return self._lsmr(A.T, _solve(self.R, v, "T"), check, "lsmr pinv_transpose")[1]

    def damped_solve(self, g, damping) -> np.ndarray:
        r""":math:`(J^\top J + \lambda I)^{-1}J^\top g`, by LSMR on :math:`[J; \sqrt\lambda I]`.

        Preconditioned by the triangular factor of :math:`[R; \sqrt\lambda I]`
        (see the module docstring). ``damping = 0`` is :meth:`pinv`.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (p,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, factorize
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = factorize(JacobianOperator(output_map, theta))
        >>> dense = factorize(output_map.jacobian(theta))
        >>> g = np.arange(6.0)
        >>> step = krylov.damped_solve(g, 0.1)
        >>> bool(np.allclose(step, dense.damped_solve(g, 0.1), rtol=1e-10))
        True
        """
        g = as_finite_vector("g", g, self.shape[0])
        lam = check_positive_real("damping", damping, allow_zero=True)
        if lam == 0:
            return self._least_squares(g)[0]
        n, p = self.shape
        root = math.sqrt(lam)
        if self._damped[0] != lam:
            stacked = np.vstack([self.R, root * np.eye(p)])
            self._damped = (lam, linalg.factorize(stacked, method="householder_r").R)
        R, J = self._damped[1], self.J
        A = scipy.sparse.linalg.LinearOperator(
            (n + p, p),
            matvec=lambda z: _stack(J, R, root, np.ravel(z)),
            rmatvec=lambda y: _solve(R, J.rmatvec(y[:n]) + root * y[n:], "T"),
            dtype=np.float64,
        )
        sigma = math.sqrt(self.sigma_max**2 + lam)

        def check(z):
            eta = _solve(R, z)
            r = g - J.matvec(eta)
            gradient = J.rmatvec(r) - lam * eta
            scale = np.linalg.norm(np.concatenate([r, root * eta]))
            return _ratio(
                np.linalg.norm(gradient), sigma * (sigma * np.linalg.norm(eta) + scale)
            ), eta

        b = np.concatenate([g, np.zeros(p)])
        return self._lsmr(A, b, check, "lsmr damped")[1]


def _stack(J, R, root, z):
    eta = _solve(R, z)
    return np.concatenate([J.matvec(eta), root * eta])


def _solve(R, b, trans="N"):
    return scipy.linalg.solve_triangular(R, b, trans=trans, check_finite=False)


def _ratio(numerator, denominator) -> float:
    if numerator == 0:
        return 0.0
    return float(numerator / denominator) if denominator > 0 else math.inf


def kernel_cg(J, g, lam, precondition, scale, tol, maxiter, progress):
    r"""Preconditioned CG on :math:`(JJ^\top + \lambda I)x = g`; ``(x, KrylovInfo)``.

    Stops when :math:`\|g - (K+\lambda)x\| \le \mathtt{tol}\,(\|g\| +
    \mathtt{scale}\,\|x\|)` (``scale`` estimates :math:`\lambda_{max}(K) +
    \lambda`), checked on the true residual; raises
    :class:`~manifolds.exceptions.KrylovConvergenceError` after ``maxiter``
    iterations without it.
    """

    def operator(x):
        return J.matvec(J.rmatvec(x)) + lam * x

    bar = _Progress(_progress_enabled(progress), maxiter, "pcg")
    x, r = np.zeros_like(g), g.copy()
    z = precondition(r)
    d, rz = z.copy(), float(r @ z)
    norm_g, iterations = float(np.linalg.norm(g)), 0
    try:
        while iterations < maxiter:
            if np.linalg.norm(r) <= tol * (norm_g + scale * np.linalg.norm(x)):
                r = g - operator(x)  # the true residual
                if np.linalg.norm(r) <= tol * (norm_g + scale * np.linalg.norm(x)):
                    break
            Ad = operator(d)
            alpha = rz / float(d @ Ad)
            x += alpha * d
            r -= alpha * Ad
            z = precondition(r)
            rz, previous = float(r @ z), rz
            d = z + (rz / previous) * d
            iterations += 1
            bar.update()
    finally:
        bar.close()
    residual = _ratio(
        np.linalg.norm(g - operator(x)), norm_g + scale * np.linalg.norm(x)
    )
    info = KrylovInfo(iterations, residual, tol, residual <= tol)
    if not info.converged:
        raise KrylovConvergenceError(iterations, residual, tol)
    return x, info


class _Counted(scipy.sparse.linalg.LinearOperator):
    """``A`` with a progress bar advanced at each ``rmatvec`` (one per LSMR iteration)."""

    def __init__(self, A, bar):
        super().__init__(dtype=np.dtype(np.float64), shape=A.shape)
        self._A, self._progress = A, bar

    def _matvec(self, x):
        return self._A.matvec(x)

    def _rmatvec(self, y):
        self._progress.update()
        return self._A.rmatvec(y)


# ----------------------------------------------------------------------
# The kernel form


def _nystrom(J: JacobianOperator, rank: int, rng):
    r"""The randomized Nyström approximation :math:`\hat K = U\hat\Lambda U^\top` of :math:`K = JJ^\top`.

    Frangella, Tropp and Udell (2023), Algorithm 2.1: a shift :math:`\nu`
    for stability, :math:`C^\top C = \Omega^\top Y_\nu`, the SVD of
    :math:`Y_\nu C^{-1}`.
    """
    n = J.shape[0]
    Omega = linalg.orthonormal_basis(rng.standard_normal((n, rank)))
    Y = J.matmat(J.rmatmat(Omega))
    nu = math.sqrt(n) * np.finfo(np.float64).eps * float(np.linalg.norm(Y, 2))
    Y += nu * Omega
    middle = Omega.T @ Y
    C, _ = linalg.gram_factor(np.asfortranarray((middle + middle.T) / 2))
    B = scipy.linalg.solve_triangular(C, Y.T, trans="T", check_finite=False).T
    U, s, _ = linalg.singular_value_decomposition(B)
    return U, np.maximum(s**2 - nu, 0.0)


def _lanczos_end(K, which: str, n: int) -> float:
    """One extreme eigenvalue of the operator ``K`` by ARPACK, inf if it does not converge."""
    start = np.ones(n) / math.sqrt(n)
    try:
        return float(
            scipy.sparse.linalg.eigsh(
                K,
                k=1,
                which=which,
                tol=1e-6,
                v0=start,
                maxiter=20 * n,
                return_eigenvectors=False,
            )[0]
        )
    except scipy.sparse.linalg.ArpackNoConvergence:
        return math.inf


class KrylovKernelFactorization:
    r"""The matrix-free kernel form :math:`J^\top(K + \lambda I)^{-1}g`, :math:`K = JJ^\top`.

    Built by :func:`manifolds.linalg.kernel_factorization` from a
    :class:`JacobianOperator`. Without a dense ``kernel``: preconditioned CG
    with a randomized Nyström preconditioner of rank ``rank`` (see the
    module docstring of ``manifolds._krylov``). With one (``dense``, the
    core's :class:`~manifolds.linalg.KernelFactorization` of it), the dense
    solve in :math:`K`-space, and only ``vjp`` for :math:`J^\top`.

    Parameters
    ----------
    J : JacobianOperator
        The Jacobian, shape ``(n, p)``.
    dense : KernelFactorization, optional
        The eigendecomposition of a closed-form kernel.
    tol, maxiter, rng, progress
        As for :class:`KrylovFactorization`; ``maxiter`` defaults to ``n + 100``.
    rank : int, optional
        The rank of the Nyström preconditioner, ``min(n, 100)`` by default.

    Raises
    ------
    ValueError
        If ``tol`` is not in (0, 1), or ``maxiter`` or ``rank`` is out of range.
    TypeError
        If ``J`` is not a :class:`JacobianOperator` or ``rng`` not a Generator.

    Attributes
    ----------
    last_info : KrylovInfo or None
        The last solve's iterations and residual.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import JacobianOperator, kernel_factorization
    >>> theta = np.array([0.3, -0.2])
    >>> J = JacobianOperator(output_map, theta)
    >>> factorization = kernel_factorization(J)
    >>> dense = kernel_factorization(output_map.jacobian(theta))
    >>> g = np.arange(6.0)
    >>> bool(np.allclose(factorization.direction(g, 0.1), dense.direction(g, 0.1)))
    True
    """

    def __init__(
        self,
        J,
        *,
        dense=None,
        tol=linalg.KRYLOV_TOL,
        maxiter=None,
        rng=None,
        progress=None,
        rank=None,
    ):
        self.J = _check_operator(J)
        self.tol, self.maxiter, rng, self._progress = _check_options(
            tol, maxiter, rng, progress
        )
        n = self.J.shape[0]
        self._dense, self.last_info = dense, None
        self._extremes = None
        if dense is not None:
            self.last_info = KrylovInfo(0, 0.0, self.tol, True)
            return
        rank = (
            min(n, _NYSTROM_RANK) if rank is None else check_positive_int("rank", rank)
        )
        if rank > n:
            raise ValueError(f"`rank` must be <= n = {n}, got {rank}")
        self.U, self.nystrom_eigenvalues = _nystrom(self.J, rank, rng)

    @property
    def kernel_eigenvalues(self) -> np.ndarray:
        r"""The eigenvalues of :math:`K`, decreasing.

        Exact (``eigh``) with a dense kernel. Otherwise only two estimates,
        :math:`[\lambda_{max}, \lambda_{min}]`, by Lanczos on :math:`K`
        (ARPACK, to 1e-6 relative, computed on first use); if Lanczos does
        not resolve :math:`\lambda_{min}` (clustered small eigenvalues), the
        smallest Nyström eigenvalue, an upper bound of it.
        """
        if self._dense is not None:
            return self._dense.kernel_eigenvalues
        if self._extremes is None:
            n = self.J.shape[0]
            if n < 3:
                K = self.J.matmat(self.J.rmatmat(np.eye(n)))
                values = np.linalg.eigvalsh((K + K.T) / 2)[::-1]
                self._extremes = np.maximum(values[[0, -1]], 0.0)
            else:
                K = scipy.sparse.linalg.LinearOperator(
                    (n, n),
                    matvec=lambda v: self.J.matvec(self.J.rmatvec(v)),
                    dtype=np.float64,
                )
                ends = [_lanczos_end(K, which, n) for which in ("LA", "SA")]
                if not math.isfinite(ends[1]):  # unresolved: the Nyström bound
                    ends[1] = float(min(self.nystrom_eigenvalues[-1], ends[0]))
                self._extremes = np.maximum(np.array(ends), 0.0)
        return self._extremes

    @property
    def lambda_min(self) -> float:
        r""":math:`\lambda_{min}(K)` (an estimate without a dense kernel)."""
        return float(self.kernel_eigenvalues[-1])

    def _solve(self, g, damping):
        """:math:`x = (K + \\lambda I)^{-1} g`."""
        g = as_finite_vector("g", g, self.J.shape[0])
        lam = check_positive_real("damping", damping, allow_zero=True)
        if self._dense is not None:
            return g, lam, self._dense._coefficients(g, lam)
        return g, lam, self._pcg(g, lam)

    def _pcg(self, g, lam):
        U, values = self.U, self.nystrom_eigenvalues
        smallest = values[-1] + lam
        if not smallest > 0:
            raise np.linalg.LinAlgError(
                "the Nyström preconditioner is singular: K + damping I has a zero "
                "eigenvalue estimate; use damping > 0"
            )

        def precondition(r):
            coefficients = U.T @ r
            return U @ (coefficients * (smallest / (values + lam) - 1.0)) + r

        maxiter = self.maxiter or self.J.shape[0] + 100
        x, self.last_info = kernel_cg(
            self.J,
            g,
            lam,
            precondition,
            values[0] + lam,
            self.tol,
            maxiter,
            self._progress,
        )
        return x

    def direction(self, g, damping) -> np.ndarray:
        r""":math:`J^\top(K + \lambda I)^{-1}g`.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0` (> 0 unless :math:`K` is nonsingular).

        Returns
        -------
        ndarray, shape (p,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, kernel_factorization
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = kernel_factorization(JacobianOperator(output_map, theta))
        >>> dense = kernel_factorization(output_map.jacobian(theta))
        >>> g = np.arange(6.0)
        >>> bool(np.allclose(krylov.direction(g, 0.5), dense.direction(g, 0.5)))
        True
        """
        x = self._solve(g, damping)[2]
        if self._dense is not None:
            x = self._dense.U @ x
        return self.J.rmatvec(x)

    def output_velocity(self, g, damping) -> np.ndarray:
        r""":math:`K(K + \lambda I)^{-1}g`.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from manifolds.linalg import JacobianOperator, kernel_factorization
        >>> theta = np.array([0.3, -0.2])
        >>> krylov = kernel_factorization(JacobianOperator(output_map, theta))
        >>> dense = kernel_factorization(output_map.jacobian(theta))
        >>> g = np.arange(6.0)
        >>> velocity = krylov.output_velocity(g, 0.5)
        >>> bool(np.allclose(velocity, dense.output_velocity(g, 0.5)))
        True
        """
        g, lam, x = self._solve(g, damping)
        if self._dense is not None:
            dense = self._dense
            return dense.U @ (dense.kernel_eigenvalues * x)
        return self.J.matvec(self.J.rmatvec(x))
